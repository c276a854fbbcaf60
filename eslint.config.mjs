import { builtinModules } from 'node:module'
import js from '@eslint/js'
import pluginVue from 'eslint-plugin-vue'
import globals from 'globals'
import tseslint from 'typescript-eslint'

// The walls of ARCHITECTURE.md as import rules: a wrong import fails `npm test`.
const nodeModules = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)]
const wall = (paths, groups, message) => ({
  'no-restricted-imports': [
    'error',
    {
      paths: paths.map((name) => ({ name, message })),
      patterns: groups.length ? [{ group: groups, message }] : []
    }
  ]
})

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'tests/lint/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...pluginVue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } }
  },
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'vue/multi-word-component-names': 'off',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off'
    }
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  },
  {
    files: ['shared/**'],
    rules: wall(
      ['electron', 'ws', 'better-sqlite3', ...nodeModules],
      ['**/main/**', '**/renderer/**', '**/preload/**', 'electron/*'],
      'shared/ is pure TypeScript for both sides: no Node, DOM, Electron or main/renderer/preload imports.'
    )
  },
  {
    files: ['renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: wall(
      ['electron', 'ws', 'better-sqlite3', ...nodeModules],
      ['**/main/**', '**/preload/**'],
      'The renderer talks to the engine through the RPC client only: no main/, preload/, Node or Electron imports.'
    )
  },
  {
    files: ['preload/**'],
    rules: wall(
      ['ws', 'better-sqlite3', ...nodeModules],
      ['**/main/**', '**/renderer/**'],
      'The preload imports electron and shared/ constants only.'
    )
  },
  {
    files: ['main/**'],
    ignores: ['main/electron/**'],
    rules: wall(
      ['electron'],
      ['**/renderer/**', '**/preload/**', 'electron/*'],
      'Only main/electron/ may import electron; the engine never knows which host serves it.'
    )
  }
)
