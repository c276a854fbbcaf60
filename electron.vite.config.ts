import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import vue from '@vitejs/plugin-vue'

// Main-side bundles: the Electron entry (index), the browser host, the command line and worker threads.
// All are CommonJS in out/main so workers can be found next to the code that starts them.
export default defineConfig({
  main: {
    build: {
      outDir: resolve(__dirname, 'out/main'),
      sourcemap: true,
      lib: {
        entry: {
          index: resolve(__dirname, 'main/electron/bootstrap.ts'),
          host: resolve(__dirname, 'main/host/main.ts'),
          cli: resolve(__dirname, 'main/cli/main.ts'),
          'job-worker': resolve(__dirname, 'main/jobs/job-worker.ts'),
          'sandbox-worker': resolve(__dirname, 'main/sandbox/sandbox-worker.ts')
        },
        formats: ['cjs']
      }
    }
  },
  preload: {
    build: {
      outDir: resolve(__dirname, 'out/preload'),
      lib: { entry: resolve(__dirname, 'preload/index.ts'), formats: ['cjs'] }
    }
  },
  renderer: {
    root: resolve(__dirname, 'renderer'),
    plugins: [vue()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      chunkSizeWarningLimit: 8000,
      rolldownOptions: { input: resolve(__dirname, 'renderer/index.html') }
    }
  }
})
