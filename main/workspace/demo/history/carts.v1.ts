import { defineDecider, reject, z } from 'workbench'

// The carts decider as it was before prices became cents: they came in as strings of units ("12.50").
// It predates schema versions, so the store records its events as version 1. Kept to generate the demo log.

const price = z.string().regex(/^\d+\.\d{2}$/, 'a price like "12.50"')

const commands = {
  OpenCart: z.object({ cartId: z.string().min(1), customerId: z.string().min(1) }),
  AddItem: z.object({ cartId: z.string().min(1), sku: z.string().min(1), quantity: z.number().int().positive().max(99), price }),
  RemoveItem: z.object({ cartId: z.string().min(1), sku: z.string().min(1) }),
  CheckOut: z.object({ cartId: z.string().min(1), orderId: z.string().min(1) })
}

type Command = { [T in keyof typeof commands]: { type: T; data: z.infer<(typeof commands)[T]>; metadata: Record<string, unknown> } }[keyof typeof commands]

type Line = { sku: string; quantity: number; price: string }

type Event =
  | { type: 'CartOpened'; data: { cartId: string; customerId: string } }
  | { type: 'ItemAdded'; data: { cartId: string; sku: string; quantity: number; price: string } }
  | { type: 'ItemRemoved'; data: { cartId: string; sku: string } }
  | { type: 'CartCheckedOut'; data: { cartId: string; orderId: string; lines: unknown[]; totalCents: number } }

type Cart = { status: 'none' | 'open' | 'checkedOut'; customerId: string | null; lines: Line[] }

const cents = (units: string) => Math.round(Number(units) * 100)

export default defineDecider<Cart>({
  name: 'carts',
  description: 'Shopping carts (v1, prices as strings of units).',
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
        const { sku, quantity, price } = e.data
        const held = cart.lines.some((line) => line.sku === sku)
        const lines = held
          ? cart.lines.map((line) => (line.sku === sku ? { sku, quantity: line.quantity + quantity, price } : line))
          : [...cart.lines, { sku, quantity, price }]
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
    if (cart.status === 'none') reject('CartNotOpen', `Cart ${c.data.cartId} has not been opened`)
    if (cart.status === 'checkedOut') reject('CartAlreadyCheckedOut', `Cart ${c.data.cartId} is checked out; it cannot change any more`)

    switch (c.type) {
      case 'AddItem':
        return { type: 'ItemAdded', data: c.data }
      case 'RemoveItem':
        if (!cart.lines.some((line) => line.sku === c.data.sku)) reject('ItemNotInCart', `Cart ${c.data.cartId} holds no ${c.data.sku}`)
        return { type: 'ItemRemoved', data: c.data }
      case 'CheckOut': {
        if (cart.lines.length === 0) reject('EmptyCart', `Cart ${c.data.cartId} is empty; there is nothing to order`)
        const lines = cart.lines.map((line) => ({ sku: line.sku, quantity: line.quantity, priceCents: cents(line.price) }))
        const totalCents = lines.reduce((sum, line) => sum + line.quantity * line.priceCents, 0)
        return { type: 'CartCheckedOut', data: { ...c.data, lines, totalCents } }
      }
    }
  }
})
