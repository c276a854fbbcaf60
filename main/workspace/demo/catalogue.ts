/** What the demo shop, a coffee and tea store, sells; popularity weighs how often a product lands in a cart. */
export interface Product {
  sku: string
  priceCents: number
  popularity: number
}

export const products: readonly Product[] = [
  { sku: 'beans-ethiopia-250g', priceCents: 1250, popularity: 40 },
  { sku: 'beans-colombia-250g', priceCents: 1150, popularity: 45 },
  { sku: 'beans-kenya-250g', priceCents: 1390, popularity: 25 },
  { sku: 'beans-guatemala-250g', priceCents: 1290, popularity: 20 },
  { sku: 'beans-sumatra-250g', priceCents: 1350, popularity: 15 },
  { sku: 'beans-decaf-250g', priceCents: 1190, popularity: 12 },
  { sku: 'beans-brazil-1kg', priceCents: 3490, popularity: 22 },
  { sku: 'beans-espresso-blend-1kg', priceCents: 3290, popularity: 30 },
  { sku: 'tea-sencha-100g', priceCents: 890, popularity: 24 },
  { sku: 'tea-earl-grey-100g', priceCents: 750, popularity: 30 },
  { sku: 'tea-assam-250g', priceCents: 1190, popularity: 18 },
  { sku: 'tea-darjeeling-100g', priceCents: 1590, popularity: 12 },
  { sku: 'tea-oolong-100g', priceCents: 1490, popularity: 9 },
  { sku: 'tea-matcha-30g', priceCents: 1990, popularity: 16 },
  { sku: 'tea-rooibos-100g', priceCents: 690, popularity: 14 },
  { sku: 'tea-chamomile-50g', priceCents: 650, popularity: 11 },
  { sku: 'filter-papers-100', priceCents: 450, popularity: 26 },
  { sku: 'tea-infuser', priceCents: 990, popularity: 8 },
  { sku: 'mug-stoneware', priceCents: 1800, popularity: 10 },
  { sku: 'mug-travel', priceCents: 2400, popularity: 8 },
  { sku: 'cold-brew-jar', priceCents: 2900, popularity: 5 },
  { sku: 'pour-over-dripper', priceCents: 2200, popularity: 7 },
  { sku: 'french-press-1l', priceCents: 3400, popularity: 6 },
  { sku: 'moka-pot-6cup', priceCents: 3590, popularity: 6 },
  { sku: 'aeropress', priceCents: 3990, popularity: 7 },
  { sku: 'teapot-cast-iron', priceCents: 4900, popularity: 4 },
  { sku: 'scale-digital', priceCents: 4500, popularity: 4 },
  { sku: 'milk-frother', priceCents: 5900, popularity: 4 },
  { sku: 'grinder-hand', priceCents: 6900, popularity: 4 },
  { sku: 'kettle-gooseneck', priceCents: 7900, popularity: 4 },
  { sku: 'grinder-burr-electric', priceCents: 24900, popularity: 2 },
  { sku: 'espresso-machine', priceCents: 64900, popularity: 1.2 },
  { sku: 'espresso-machine-dual-boiler', priceCents: 149900, popularity: 0.5 }
]

/** Where customers live; the last few are countries no carrier of ours delivers to. */
export const countries: ReadonlyArray<{ code: string; weight: number }> = [
  { code: 'DE', weight: 25 },
  { code: 'FR', weight: 15 },
  { code: 'GB', weight: 14 },
  { code: 'NL', weight: 10 },
  { code: 'ES', weight: 8 },
  { code: 'IT', weight: 8 },
  { code: 'BE', weight: 5 },
  { code: 'AT', weight: 4 },
  { code: 'SE', weight: 3 },
  { code: 'DK', weight: 2 },
  { code: 'IE', weight: 2 },
  { code: 'PT', weight: 2 },
  { code: 'CH', weight: 0.8 },
  { code: 'NO', weight: 0.5 },
  { code: 'US', weight: 0.6 }
]

/** The carrier the warehouse books for a country, and the shape of its tracking numbers. */
export function carrierFor(country: string): { carrier: string; prefix: string } {
  if (country === 'GB' || country === 'IE') return { carrier: 'Royal Mail', prefix: 'RM' }
  if (country === 'NL' || country === 'BE') return { carrier: 'PostNL', prefix: '3S' }
  if (country === 'DE' || country === 'AT') return { carrier: 'DHL', prefix: 'JJD' }
  return { carrier: 'UPS', prefix: '1Z' }
}
