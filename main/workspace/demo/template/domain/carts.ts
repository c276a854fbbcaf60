import { defineDecider, reject, z } from 'workbench'

// A shopper's cart: items come and go until checkout hands the lines to an order.

// The cart's number: the stream is cart-<cartId>.
const cartId = z.string().min(1).describe('The number in the stream id: 1027 for cart-1027')

const commands = {
  OpenCart: z.object({ cartId, customerId: z.string().min(1) }),
  AddItem: z.object({
    cartId,
    sku: z.string().min(1),
    quantity: z.number().int().positive().max(99),
    priceCents: z.number().int().positive()
  }),
  RemoveItem: z.object({ cartId, sku: z.string().min(1) }),
  CheckOut: z.object({ cartId, orderId: z.string().min(1) })
}

// A command as decide receives it: its name, its validated data, and metadata.
type Command = { [T in keyof typeof commands]: { type: T; data: z.infer<(typeof commands)[T]>; metadata: Record<string, unknown> } }[keyof typeof commands]

type Line = { sku: string; quantity: number; priceCents: number }

type Event =
  | { type: 'CartOpened'; data: { cartId: string; customerId: string } }
  // Stored version 1 held the price as a string of units; upcasters/item-added.ts turns it into version 2.
  | { type: 'ItemAdded'; schemaVersion: 2; data: { cartId: string; sku: string; quantity: number; priceCents: number } }
  | { type: 'ItemRemoved'; data: { cartId: string; sku: string } }
  | { type: 'CartCheckedOut'; data: { cartId: string; orderId: string; lines: Line[]; totalCents: number } }

type Cart = { status: 'none' | 'open' | 'checkedOut'; customerId: string | null; lines: Line[] }

export default defineDecider<Cart>({
  name: 'carts',
  description: 'Shopping carts: open, add and remove items, check out into an order.',
  streamPrefix: 'cart',
  commands,
  streamId: (command) => `cart-${command.data.cartId}`,
  initialState: () => ({ status: 'none', customerId: null, lines: [] }),

  evolve(cart, event) {
    const e = event as Event
    switch (e.type) {
      case 'CartOpened':
        return { ...cart, status: 'open', customerId: e.data.customerId }
      case 'ItemAdded': {
        const { sku, quantity, priceCents } = e.data
        const held = cart.lines.some((line) => line.sku === sku)
        const lines = held
          ? cart.lines.map((line) => (line.sku === sku ? { sku, quantity: line.quantity + quantity, priceCents } : line))
          : [...cart.lines, { sku, quantity, priceCents }]
        return { ...cart, lines }
      }
      case 'ItemRemoved':
        return { ...cart, lines: cart.lines.filter((line) => line.sku !== e.data.sku) }
      case 'CartCheckedOut':
        return { ...cart, status: 'checkedOut' }
      default:
        return cart
    }
  },

  decide(command, cart) {
    const c = command as Command
    if (c.type === 'OpenCart') {
      if (cart.status !== 'none') reject('CartAlreadyOpen', `Cart ${c.data.cartId} is already open`)
      return { type: 'CartOpened', data: c.data }
    }
    // Every other command needs an open cart: a checked-out cart is an order now.
    if (cart.status === 'none') reject('CartNotOpen', `Cart ${c.data.cartId} has not been opened`)
    if (cart.status === 'checkedOut') reject('CartAlreadyCheckedOut', `Cart ${c.data.cartId} is checked out; it cannot change any more`)

    switch (c.type) {
      case 'AddItem':
        return { type: 'ItemAdded', schemaVersion: 2, data: c.data }
      case 'RemoveItem':
        if (!cart.lines.some((line) => line.sku === c.data.sku)) reject('ItemNotInCart', `Cart ${c.data.cartId} holds no ${c.data.sku}`)
        return { type: 'ItemRemoved', data: c.data }
      case 'CheckOut': {
        if (cart.lines.length === 0) reject('EmptyCart', `Cart ${c.data.cartId} is empty; there is nothing to order`)
        const totalCents = cart.lines.reduce((sum, line) => sum + line.quantity * line.priceCents, 0)
        return { type: 'CartCheckedOut', data: { ...c.data, lines: cart.lines, totalCents } }
      }
    }
  }
})
