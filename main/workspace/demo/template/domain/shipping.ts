import { defineDecider, reject, z } from 'workbench'

// The parcel of one order: labelled for a carrier, then delivered.

/** The carriers we have contracts with cover these countries only. */
const DESTINATIONS = ['AT', 'BE', 'DE', 'DK', 'ES', 'FR', 'GB', 'IE', 'IT', 'NL', 'PT', 'SE']

const orderId = z.string().min(1).describe('The order\'s number: 2722 for order-2722 (this stream: shipment-2722)')

const commands = {
  CreateShipment: z.object({ orderId, country: z.string().length(2), carrier: z.string().min(1), trackingNumber: z.string().min(1) }),
  DeliverShipment: z.object({ orderId })
}

type Command = { [T in keyof typeof commands]: { type: T; data: z.infer<(typeof commands)[T]>; metadata: Record<string, unknown> } }[keyof typeof commands]

type Event = { type: 'ShipmentCreated'; data: { orderId: string } } | { type: 'ShipmentDelivered'; data: { orderId: string } }

type Shipment = { status: 'none' | 'created' | 'delivered' }

export default defineDecider<Shipment>({
  name: 'shipping',
  description: 'Shipments per order: a label for a carrier, then delivery.',
  streamPrefix: 'shipment',
  commands,
  streamId: (command) => `shipment-${command.data.orderId}`,
  initialState: () => ({ status: 'none' }),

  evolve(shipment, event) {
    const e = event as Event
    switch (e.type) {
      case 'ShipmentCreated':
        return { status: 'created' }
      case 'ShipmentDelivered':
        return { status: 'delivered' }
      default:
        return shipment
    }
  },

  decide(command, shipment) {
    const c = command as Command
    const { orderId } = c.data
    switch (c.type) {
      case 'CreateShipment':
        if (shipment.status !== 'none') reject('ShipmentExists', `Order ${orderId} has a shipment already`)
        if (!DESTINATIONS.includes(c.data.country)) {
          reject('UnsupportedDestination', `No carrier delivers to ${c.data.country}; order ${orderId} cannot ship`)
        }
        return { type: 'ShipmentCreated', data: c.data }
      case 'DeliverShipment':
        if (shipment.status === 'none') reject('UnknownShipment', `Order ${orderId} has no shipment`)
        if (shipment.status === 'delivered') reject('AlreadyDelivered', `The parcel of order ${orderId} was delivered already`)
        return { type: 'ShipmentDelivered', data: c.data }
    }
  }
})
