import { defineDecider, reject, z } from 'workbench'

// An order follows its checkout through payment to the parcel leaving the warehouse.

const line = z.object({ sku: z.string().min(1), quantity: z.number().int().positive(), priceCents: z.number().int().positive() })

// The order's number: the stream is order-<orderId>.
const orderId = z.string().min(1).describe('The number in the stream id: 2722 for order-2722')

const commands = {
  PlaceOrder: z.object({
    orderId,
    cartId: z.string().min(1),
    customerId: z.string().min(1),
    country: z.string().length(2),
    lines: z.array(line).min(1)
  }),
  MarkOrderPaid: z.object({ orderId, amountCents: z.number().int().positive() }),
  ShipOrder: z.object({ orderId, carrier: z.string().min(1), trackingNumber: z.string().min(1) }),
  CancelOrder: z.object({
    orderId,
    reason: z.enum(['out-of-stock', 'payment-refused', 'payment-declined', 'undeliverable', 'customer-request'])
  })
}

type Command = { [T in keyof typeof commands]: { type: T; data: z.infer<(typeof commands)[T]>; metadata: Record<string, unknown> } }[keyof typeof commands]

type Event =
  | { type: 'OrderPlaced'; data: { orderId: string; totalCents: number } }
  | { type: 'OrderPaid'; data: { orderId: string; amountCents: number } }
  | { type: 'OrderShipped'; data: { orderId: string } }
  | { type: 'OrderCancelled'; data: { orderId: string } }

type Order = { status: 'none' | 'placed' | 'paid' | 'shipped' | 'cancelled'; totalCents: number }

export default defineDecider<Order>({
  name: 'orders',
  description: 'Orders: placed at checkout, paid, shipped, or cancelled before they ship.',
  streamPrefix: 'order',
  commands,
  streamId: (command) => `order-${command.data.orderId}`,
  initialState: () => ({ status: 'none', totalCents: 0 }),

  evolve(order, event) {
    const e = event as Event
    switch (e.type) {
      case 'OrderPlaced':
        return { status: 'placed', totalCents: e.data.totalCents }
      case 'OrderPaid':
        return { ...order, status: 'paid' }
      case 'OrderShipped':
        return { ...order, status: 'shipped' }
      case 'OrderCancelled':
        return { ...order, status: 'cancelled' }
      default:
        return order
    }
  },

  decide(command, order) {
    const c = command as Command
    const { orderId } = c.data
    if (c.type === 'PlaceOrder') {
      if (order.status !== 'none') reject('OrderAlreadyPlaced', `Order ${orderId} was placed already`)
      const totalCents = c.data.lines.reduce((sum, l) => sum + l.quantity * l.priceCents, 0)
      return { type: 'OrderPlaced', data: { ...c.data, totalCents } }
    }
    if (order.status === 'none') reject('UnknownOrder', `There is no order ${orderId}`)
    if (order.status === 'cancelled') reject('OrderCancelled', `Order ${orderId} is cancelled`)

    switch (c.type) {
      case 'MarkOrderPaid':
        if (order.status !== 'placed') reject('OrderAlreadyPaid', `Order ${orderId} is paid already`)
        // A partial or excess payment needs a person to look at it.
        if (c.data.amountCents !== order.totalCents) {
          reject('PaymentMismatch', `Order ${orderId} totals ${order.totalCents} cents, the payment was ${c.data.amountCents} cents`)
        }
        return { type: 'OrderPaid', data: c.data }
      case 'ShipOrder':
        if (order.status === 'placed') reject('NoShippingBeforePayment', `Order ${orderId} is not paid yet; it cannot ship`)
        if (order.status === 'shipped') reject('OrderAlreadyShipped', `Order ${orderId} has shipped already`)
        return { type: 'OrderShipped', data: c.data }
      case 'CancelOrder':
        // Once the parcel has left, only a return can undo the order.
        if (order.status === 'shipped') reject('OrderAlreadyShipped', `Order ${orderId} has shipped; it can be returned, not cancelled`)
        return { type: 'OrderCancelled', data: c.data }
    }
  }
})
