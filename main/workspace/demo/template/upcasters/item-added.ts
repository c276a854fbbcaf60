import { defineUpcaster } from 'workbench'

// The shop first stored prices as strings of units ("12.50"); since schema version 2 they are whole cents.
// Every reader (the carts decider, projections, the stream browser's "as read" view, export with upcasting)
// gets version 2, so the code that reads ItemAdded knows one shape.
export default defineUpcaster({
  eventType: 'ItemAdded',
  fromVersion: 1,
  toVersion: 2,
  description: 'Price as a string of units → priceCents',
  upcast: ({ price, ...rest }) => ({ ...rest, priceCents: Math.round(Number(price) * 100) })
})
