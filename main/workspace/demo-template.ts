import carts from './demo/template/domain/carts.ts?raw'
import inventory from './demo/template/domain/inventory.ts?raw'
import orders from './demo/template/domain/orders.ts?raw'
import payments from './demo/template/domain/payments.ts?raw'
import shipping from './demo/template/domain/shipping.ts?raw'
import cartsV1 from './demo/history/carts.v1.ts?raw'
import customerHistory from './demo/template/projections/customer-history.ts?raw'
import inventoryLevels from './demo/template/projections/inventory-levels.ts?raw'
import orderSummary from './demo/template/projections/order-summary.ts?raw'
import revenuePerDay from './demo/template/projections/revenue-per-day.ts?raw'
import itemAdded from './demo/template/upcasters/item-added.ts?raw'
import orderFulfilment from './demo/template/sagas/order-fulfilment.ts?raw'

/** The demo shop's definition files, shipped inside the app as text and copied into a new demo workspace. */
export const demoTemplateFiles: Record<string, string> = {
  'domain/carts.ts': carts,
  'domain/inventory.ts': inventory,
  'domain/orders.ts': orders,
  'domain/payments.ts': payments,
  'domain/shipping.ts': shipping,
  'projections/order-summary.ts': orderSummary,
  'projections/inventory-levels.ts': inventoryLevels,
  'projections/revenue-per-day.ts': revenuePerDay,
  'projections/customer-history.ts': customerHistory,
  'upcasters/item-added.ts': itemAdded,
  'sagas/order-fulfilment.ts': orderFulfilment
}

/** Code the shop ran earlier in its life; the generator uses it for the older part of the log. */
export const demoHistoryFiles: Record<string, string> = {
  'history/carts.v1.ts': cartsV1
}
