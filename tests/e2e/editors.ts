import { expect, type Page } from '@playwright/test'

/**
 * Types text into the Monaco editor inside the element with this test id, replacing what it held. Monaco closes
 * brackets and quotes as they are typed; what it added after the cursor is dropped.
 */
export async function typeInEditor(page: Page, testId: string, text: string): Promise<void> {
  await page.getByTestId(testId).locator('.monaco-editor').click()
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.press('Delete')
  await page.keyboard.insertText(text)
  await page.keyboard.press('Shift+ControlOrMeta+End')
  await page.keyboard.press('Delete')
}

/** Replaces the whole text of the code editor, exactly: pasted (typed text would be indented again line by line). */
export async function pasteCode(page: Page, text: string): Promise<void> {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'])
  await page.evaluate((t) => (globalThis as unknown as { navigator: { clipboard: { writeText(t: string): Promise<void> } } }).navigator.clipboard.writeText(t), text)
  await page.getByTestId('code-editor').locator('.monaco-editor').click()
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.press('ControlOrMeta+V')
}

/** Saves the code editor's file with the keyboard, and waits until it is saved. */
export async function saveCode(page: Page): Promise<void> {
  await expect(page.getByTestId('code-save-state')).toHaveText('Unsaved changes')
  await page.keyboard.press('ControlOrMeta+S')
  await expect(page.getByTestId('code-save-state')).toHaveText('Saved')
}
