import { join } from 'node:path'
import type { Page } from '@playwright/test'

/** Saves a screenshot under test-results/screenshots/ so a person can look at it. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(__dirname, '..', '..', 'test-results', 'screenshots', `${name}.png`) })
}

export function appUrl(hash = ''): string {
  const url = process.env.ESW_URL
  if (!url) throw new Error('ESW_URL is not set: the global setup starts the browser host')
  return `${url}${hash}`
}
