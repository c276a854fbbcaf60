import { describe, it } from 'vitest'
import { spec } from './decider-spec'
import cartsV1 from './history/carts.v1'
import carts from './template/domain/carts'
import inventory from './template/domain/inventory'
import orders from './template/domain/orders'
import payments from './template/domain/payments'
import shipping from './template/domain/shipping'

const opened = { type: 'CartOpened', data: { cartId: '7', customerId: 'cust-00001' } }
const teaAdded = { type: 'ItemAdded', schemaVersion: 2, data: { cartId: '7', sku: 'tea-sencha-100g', quantity: 2, priceCents: 890 } }
const checkedOut = { type: 'CartCheckedOut', data: { cartId: '7', orderId: '1001', lines: [], totalCents: 1780 } }

describe('carts', () => {
  it('opens a cart for a customer', () => {
    spec(carts).given([]).when({ type: 'OpenCart', data: { cartId: '7', customerId: 'cust-00001' } }).then([opened])
  })

  it('records an added item as schema version 2, with the price in cents', () => {
    spec(carts)
      .given([opened])
      .when({ type: 'AddItem', data: { cartId: '7', sku: 'tea-sencha-100g', quantity: 2, priceCents: 890 } })
      .then([teaAdded])
  })

  it('refuses items for a cart that was never opened', () => {
    spec(carts).given([]).when({ type: 'AddItem', data: { cartId: '7', sku: 'mug-travel', quantity: 1, priceCents: 2400 } }).thenRejects('CartNotOpen')
  })

  it('refuses items once the cart is checked out', () => {
    spec(carts)
      .given([opened, teaAdded, checkedOut])
      .when({ type: 'AddItem', data: { cartId: '7', sku: 'mug-travel', quantity: 1, priceCents: 2400 } })
      .thenRejects('CartAlreadyCheckedOut', /Cart 7 is checked out/)
  })

  it('refuses a quantity that is not positive', () => {
    spec(carts).given([opened]).when({ type: 'AddItem', data: { cartId: '7', sku: 'mug-travel', quantity: 0, priceCents: 2400 } }).thenInvalid('quantity')
  })

  it('refuses to remove an item the cart does not hold', () => {
    spec(carts).given([opened, teaAdded]).when({ type: 'RemoveItem', data: { cartId: '7', sku: 'mug-travel' } }).thenRejects('ItemNotInCart')
  })

  it('refuses to check out an empty cart', () => {
    spec(carts).given([opened]).when({ type: 'CheckOut', data: { cartId: '7', orderId: '1001' } }).thenRejects('EmptyCart')
  })

  it('checks out lines added under both schema versions, reading v1 prices as units', () => {
    spec(carts)
      .given([
        opened,
        { type: 'ItemAdded', schemaVersion: 1, data: { cartId: '7', sku: 'beans-kenya-250g', quantity: 1, price: '13.90' } },
        teaAdded,
        { type: 'ItemAdded', schemaVersion: 2, data: { cartId: '7', sku: 'beans-kenya-250g', quantity: 1, priceCents: 1390 } }
      ])
      .when({ type: 'CheckOut', data: { cartId: '7', orderId: '1001' } })
      .then([
        {
          type: 'CartCheckedOut',
          data: {
            cartId: '7',
            orderId: '1001',
            lines: [
              { sku: 'beans-kenya-250g', quantity: 2, priceCents: 1390 },
              { sku: 'tea-sencha-100g', quantity: 2, priceCents: 890 }
            ],
            totalCents: 4560
          }
        }
      ])
  })

  it('v1 (history) records prices as strings of units, without a schema version', () => {
    spec(cartsV1)
      .given([opened])
      .when({ type: 'AddItem', data: { cartId: '7', sku: 'tea-sencha-100g', quantity: 2, price: '8.90' } })
      .then([{ type: 'ItemAdded', data: { cartId: '7', sku: 'tea-sencha-100g', quantity: 2, price: '8.90' } }])
  })

  it('v1 (history) refuses a price that is not a string of units', () => {
    spec(cartsV1).given([opened]).when({ type: 'AddItem', data: { cartId: '7', sku: 'tea-sencha-100g', quantity: 2, price: '8.9' } }).thenInvalid('price')
  })
})

const line = { sku: 'aeropress', quantity: 2, priceCents: 3990 }
const placed = { type: 'OrderPlaced', data: { orderId: '1001', cartId: '7', customerId: 'cust-00001', country: 'DE', lines: [line], totalCents: 7980 } }
const paid = { type: 'OrderPaid', data: { orderId: '1001', amountCents: 7980 } }
const shipped = { type: 'OrderShipped', data: { orderId: '1001', carrier: 'DHL', trackingNumber: 'JJD00000042' } }

describe('orders', () => {
  it('places an order and totals its lines', () => {
    spec(orders)
      .given([])
      .when({ type: 'PlaceOrder', data: { orderId: '1001', cartId: '7', customerId: 'cust-00001', country: 'DE', lines: [line] } })
      .then([placed])
  })

  it('refuses an order without lines', () => {
    spec(orders).given([]).when({ type: 'PlaceOrder', data: { orderId: '1001', cartId: '7', customerId: 'cust-00001', country: 'DE', lines: [] } }).thenInvalid('lines')
  })

  it('refuses a line with a negative quantity', () => {
    spec(orders)
      .given([])
      .when({ type: 'PlaceOrder', data: { orderId: '1001', cartId: '7', customerId: 'cust-00001', country: 'DE', lines: [{ ...line, quantity: -1 }] } })
      .thenInvalid('lines[0].quantity')
  })

  it('refuses to place the same order twice', () => {
    spec(orders)
      .given([placed])
      .when({ type: 'PlaceOrder', data: { orderId: '1001', cartId: '7', customerId: 'cust-00001', country: 'DE', lines: [line] } })
      .thenRejects('OrderAlreadyPlaced')
  })

  it('refuses a payment that does not match the total', () => {
    spec(orders).given([placed]).when({ type: 'MarkOrderPaid', data: { orderId: '1001', amountCents: 7000 } }).thenRejects('PaymentMismatch', /7980 cents/)
  })

  it('does not ship before payment', () => {
    spec(orders)
      .given([placed])
      .when({ type: 'ShipOrder', data: { orderId: '1001', carrier: 'DHL', trackingNumber: 'JJD00000042' } })
      .thenRejects('NoShippingBeforePayment')
  })

  it('ships a paid order', () => {
    spec(orders)
      .given([placed, paid])
      .when({ type: 'ShipOrder', data: { orderId: '1001', carrier: 'DHL', trackingNumber: 'JJD00000042' } })
      .then([shipped])
  })

  it('cancels a paid order that has not shipped', () => {
    spec(orders)
      .given([placed, paid])
      .when({ type: 'CancelOrder', data: { orderId: '1001', reason: 'customer-request' } })
      .then([{ type: 'OrderCancelled', data: { orderId: '1001', reason: 'customer-request' } }])
  })

  it('cannot cancel a shipped order', () => {
    spec(orders).given([placed, paid, shipped]).when({ type: 'CancelOrder', data: { orderId: '1001', reason: 'customer-request' } }).thenRejects('OrderAlreadyShipped')
  })

  it('refuses to pay a cancelled order', () => {
    spec(orders)
      .given([placed, { type: 'OrderCancelled', data: { orderId: '1001', reason: 'out-of-stock' } }])
      .when({ type: 'MarkOrderPaid', data: { orderId: '1001', amountCents: 7980 } })
      .thenRejects('OrderCancelled')
  })
})

const received = { type: 'StockReceived', data: { sku: 'aeropress', quantity: 5, purchaseOrder: 'PO-00001' } }
const reservedFor1001 = { type: 'StockReserved', data: { sku: 'aeropress', orderId: '1001', quantity: 3 } }

describe('inventory', () => {
  it('reserves stock that is available', () => {
    spec(inventory).given([received]).when({ type: 'ReserveStock', data: { sku: 'aeropress', orderId: '1001', quantity: 3 } }).then([reservedFor1001])
  })

  it('never lets stock go negative: units promised to other orders are not available', () => {
    spec(inventory)
      .given([received, reservedFor1001])
      .when({ type: 'ReserveStock', data: { sku: 'aeropress', orderId: '1002', quantity: 3 } })
      .thenRejects('NoNegativeStock', /Only 2 of aeropress available, order 1002 asked for 3/)
  })

  it('refuses a second reservation for the same order', () => {
    spec(inventory).given([received, reservedFor1001]).when({ type: 'ReserveStock', data: { sku: 'aeropress', orderId: '1001', quantity: 1 } }).thenRejects('AlreadyReserved')
  })

  it('releases a reservation with the quantity it held', () => {
    spec(inventory)
      .given([received, reservedFor1001])
      .when({ type: 'ReleaseStock', data: { sku: 'aeropress', orderId: '1001' } })
      .then([{ type: 'StockReleased', data: { sku: 'aeropress', orderId: '1001', quantity: 3 } }])
  })

  it('refuses to release what was never reserved', () => {
    spec(inventory).given([received]).when({ type: 'ReleaseStock', data: { sku: 'aeropress', orderId: '1001' } }).thenRejects('NoReservation')
  })

  it('dispatches reserved stock, which then leaves the shelf for good', () => {
    spec(inventory)
      .given([received, reservedFor1001, { type: 'StockDispatched', data: { sku: 'aeropress', orderId: '1001', quantity: 3 } }])
      .when({ type: 'ReserveStock', data: { sku: 'aeropress', orderId: '1002', quantity: 3 } })
      .thenRejects('NoNegativeStock', /Only 2/)
  })

  it('refuses to receive a negative quantity', () => {
    spec(inventory).given([]).when({ type: 'ReceiveStock', data: { sku: 'aeropress', quantity: -5, purchaseOrder: 'PO-00001' } }).thenInvalid('quantity')
  })
})

const charged = { type: 'PaymentCharged', data: { orderId: '1001', customerId: 'cust-00001', amountCents: 7980 } }

describe('payments', () => {
  it('charges an order', () => {
    spec(payments).given([]).when({ type: 'ChargePayment', data: { orderId: '1001', customerId: 'cust-00001', amountCents: 7980 } }).then([charged])
  })

  it('refuses a charge above €2,000.00', () => {
    spec(payments)
      .given([])
      .when({ type: 'ChargePayment', data: { orderId: '1001', customerId: 'cust-00001', amountCents: 200_001 } })
      .thenRejects('PaymentLimit', /€2000\.01 .* above the €2000\.00 limit/)
  })

  it('accepts a charge of exactly €2,000.00', () => {
    spec(payments)
      .given([])
      .when({ type: 'ChargePayment', data: { orderId: '1001', customerId: 'cust-00001', amountCents: 200_000 } })
      .then([{ type: 'PaymentCharged', data: { orderId: '1001', customerId: 'cust-00001', amountCents: 200_000 } }])
  })

  it('never charges an order twice', () => {
    spec(payments).given([charged]).when({ type: 'ChargePayment', data: { orderId: '1001', customerId: 'cust-00001', amountCents: 7980 } }).thenRejects('AlreadyCharged')
  })

  it('lets a declined card be tried again', () => {
    spec(payments)
      .given([{ type: 'PaymentDeclined', data: { orderId: '1001', reason: 'card-expired' } }])
      .when({ type: 'ChargePayment', data: { orderId: '1001', customerId: 'cust-00001', amountCents: 7980 } })
      .then([charged])
  })

  it('refunds a charged order', () => {
    spec(payments)
      .given([charged])
      .when({ type: 'RefundPayment', data: { orderId: '1001', amountCents: 7980, reason: 'undeliverable' } })
      .then([{ type: 'PaymentRefunded', data: { orderId: '1001', amountCents: 7980, reason: 'undeliverable' } }])
  })

  it('refuses to refund more than was charged', () => {
    spec(payments)
      .given([charged, { type: 'PaymentRefunded', data: { orderId: '1001', amountCents: 5000, reason: 'damaged' } }])
      .when({ type: 'RefundPayment', data: { orderId: '1001', amountCents: 5000, reason: 'damaged' } })
      .thenRejects('RefundExceedsCharge', /Only €29\.80/)
  })

  it('refuses to refund an order that was never charged', () => {
    spec(payments).given([]).when({ type: 'RefundPayment', data: { orderId: '1001', amountCents: 100, reason: 'goodwill' } }).thenRejects('NotCharged')
  })
})

const shipmentCreated = { type: 'ShipmentCreated', data: { orderId: '1001', country: 'DE', carrier: 'DHL', trackingNumber: 'JJD00000042' } }

describe('shipping', () => {
  it('creates a shipment to a country a carrier serves', () => {
    spec(shipping)
      .given([])
      .when({ type: 'CreateShipment', data: { orderId: '1001', country: 'DE', carrier: 'DHL', trackingNumber: 'JJD00000042' } })
      .then([shipmentCreated])
  })

  it('refuses a destination no carrier serves', () => {
    spec(shipping)
      .given([])
      .when({ type: 'CreateShipment', data: { orderId: '1001', country: 'US', carrier: 'UPS', trackingNumber: '1Z00000042' } })
      .thenRejects('UnsupportedDestination', /No carrier delivers to US/)
  })

  it('refuses a country code that is not two letters', () => {
    spec(shipping)
      .given([])
      .when({ type: 'CreateShipment', data: { orderId: '1001', country: 'DEU', carrier: 'DHL', trackingNumber: 'JJD00000042' } })
      .thenInvalid('country')
  })

  it('delivers a created shipment, once', () => {
    spec(shipping).given([shipmentCreated]).when({ type: 'DeliverShipment', data: { orderId: '1001' } }).then([{ type: 'ShipmentDelivered', data: { orderId: '1001' } }])
    spec(shipping)
      .given([shipmentCreated, { type: 'ShipmentDelivered', data: { orderId: '1001' } }])
      .when({ type: 'DeliverShipment', data: { orderId: '1001' } })
      .thenRejects('AlreadyDelivered')
  })

  it('refuses to deliver a shipment that does not exist', () => {
    spec(shipping).given([]).when({ type: 'DeliverShipment', data: { orderId: '1001' } }).thenRejects('UnknownShipment')
  })
})
