import { defineDecider, reject, z } from 'workbench'

// Stock of one product: what is on the shelf, and how much of it open orders have set aside.

const sku = z.string().min(1).describe('The product: beans-kenya-250g is stream inventory-beans-kenya-250g')
const orderId = z.string().min(1).describe('The order the stock is for: 2722 for order-2722')

const commands = {
  ReceiveStock: z.object({ sku, quantity: z.number().int().positive(), purchaseOrder: z.string().min(1) }),
  ReserveStock: z.object({ sku, orderId, quantity: z.number().int().positive() }),
  ReleaseStock: z.object({ sku, orderId }),
  DispatchStock: z.object({ sku, orderId })
}

type Command = { [T in keyof typeof commands]: { type: T; data: z.infer<(typeof commands)[T]>; metadata: Record<string, unknown> } }[keyof typeof commands]

type Event =
  | { type: 'StockReceived'; data: { sku: string; quantity: number } }
  | { type: 'StockReserved'; data: { sku: string; orderId: string; quantity: number } }
  | { type: 'StockReleased'; data: { sku: string; orderId: string; quantity: number } }
  | { type: 'StockDispatched'; data: { sku: string; orderId: string; quantity: number } }

/** onHand counts what is physically here; reserved units are on hand but promised to an order. */
type Stock = { onHand: number; reservations: Record<string, number> }

const withoutReservation = (reservations: Record<string, number>, orderId: string) =>
  Object.fromEntries(Object.entries(reservations).filter(([id]) => id !== orderId))

export default defineDecider<Stock>({
  name: 'inventory',
  description: 'Stock per product: received from suppliers, reserved for orders, released or dispatched.',
  streamPrefix: 'inventory',
  commands,
  streamId: (command) => `inventory-${command.data.sku}`,
  // A product's stream grows with every order that contains it.
  snapshotEvery: 100,
  initialState: () => ({ onHand: 0, reservations: {} }),

  evolve(stock, event) {
    const e = event as Event
    switch (e.type) {
      case 'StockReceived':
        return { ...stock, onHand: stock.onHand + e.data.quantity }
      case 'StockReserved':
        return { ...stock, reservations: { ...stock.reservations, [e.data.orderId]: e.data.quantity } }
      case 'StockReleased':
        return { ...stock, reservations: withoutReservation(stock.reservations, e.data.orderId) }
      case 'StockDispatched':
        return { onHand: stock.onHand - e.data.quantity, reservations: withoutReservation(stock.reservations, e.data.orderId) }
      default:
        return stock
    }
  },

  decide(command, stock) {
    const c = command as Command
    if (c.type === 'ReceiveStock') return { type: 'StockReceived', data: c.data }

    const { sku, orderId } = c.data
    const held = Object.hasOwn(stock.reservations, orderId) ? stock.reservations[orderId] : 0
    switch (c.type) {
      case 'ReserveStock': {
        if (held > 0) reject('AlreadyReserved', `Order ${orderId} already holds ${held} of ${sku}`)
        // Stock never goes negative: an order only gets what nobody else has been promised.
        const available = stock.onHand - Object.values(stock.reservations).reduce((sum, q) => sum + q, 0)
        if (c.data.quantity > available) reject('NoNegativeStock', `Only ${available} of ${sku} available, order ${orderId} asked for ${c.data.quantity}`)
        return { type: 'StockReserved', data: c.data }
      }
      case 'ReleaseStock':
        if (held === 0) reject('NoReservation', `Order ${orderId} holds no ${sku} to release`)
        return { type: 'StockReleased', data: { sku, orderId, quantity: held } }
      case 'DispatchStock':
        if (held === 0) reject('NoReservation', `Order ${orderId} holds no ${sku} to dispatch`)
        return { type: 'StockDispatched', data: { sku, orderId, quantity: held } }
    }
  }
})
