import { defineSaga } from 'workbench'

// Order fulfilment, orchestrated: reserve the stock of every line, charge the card, create the shipment. When a step
// fails (a rule rejects its command, the payment is declined, or no answer comes in time) the completed steps are
// undone in reverse order: the payment refunded, the stock released. A compensation that fails parks the order for a
// person. Every decision is recorded in the instance's own stream, saga-order_fulfilment-<orderId>.

type Line = { sku: string; quantity: number; priceCents: number }
type Placed = { orderId: string; customerId: string; country: string; lines: Line[]; totalCents: number }

export default defineSaga({
  name: 'order_fulfilment',
  description: 'Reserve stock → charge payment → ship; compensated by refund and release.',
  startedBy: 'OrderPlaced',
  correlate: (event) => (event.data as { orderId?: string }).orderId,
  steps: [
    {
      name: 'reserve-stock',
      action: ({ start }) => {
        const order = start.data as Placed
        return order.lines.map((line) => ({ decider: 'inventory', command: 'ReserveStock', data: { sku: line.sku, orderId: order.orderId, quantity: line.quantity } }))
      },
      onSuccess: 'StockReserved',
      compensate: ({ start }) => {
        const order = start.data as Placed
        return order.lines.map((line) => ({ decider: 'inventory', command: 'ReleaseStock', data: { sku: line.sku, orderId: order.orderId } }))
      },
      timeout: '5m'
    },
    {
      name: 'charge-payment',
      action: ({ start }) => {
        const order = start.data as Placed
        return { decider: 'payments', command: 'ChargePayment', data: { orderId: order.orderId, customerId: order.customerId, amountCents: order.totalCents } }
      },
      onSuccess: 'PaymentCharged',
      onFailure: 'PaymentDeclined',
      compensate: ({ start }) => {
        const order = start.data as Placed
        return { decider: 'payments', command: 'RefundPayment', data: { orderId: order.orderId, amountCents: order.totalCents, reason: 'order-not-fulfilled' } }
      },
      timeout: '15m',
      retries: { max: 1, backoff: '30s' }
    },
    {
      name: 'create-shipment',
      action: ({ start }) => {
        const order = start.data as Placed
        return { decider: 'shipping', command: 'CreateShipment', data: { orderId: order.orderId, country: order.country, carrier: 'PostNL', trackingNumber: `TRK-${order.orderId}` } }
      },
      onSuccess: 'ShipmentCreated',
      timeout: '1h',
      // Once the parcel is with the carrier there is no taking it back.
      pointOfNoReturn: true
    }
  ]
})
