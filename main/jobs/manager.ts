import { randomUUID } from 'node:crypto'
import type { JobInfo } from '../../shared/contract/jobs'
import { RpcError } from '../../shared/rpc/errors'
import { runInWorker } from './runner'
import type { JobTask } from './tasks'

export interface JobManagerOptions {
  onUpdate(job: JobInfo): void
  /** Turns a worker's raw result into what the job reports (e.g. adds a download link). */
  finish?(task: JobTask, result: unknown): unknown
  /** Runs after a job ends, however it ends (e.g. removes an upload). */
  cleanup?(task: JobTask): void
}

/** Keeps the jobs of this session: starts them in workers, relays progress, cancels them. */
export class JobManager {
  private readonly jobs = new Map<string, { info: JobInfo; cancel: () => void }>()

  constructor(private readonly options: JobManagerOptions) {}

  start(task: JobTask, title: string): JobInfo {
    const info: JobInfo = {
      id: randomUUID(),
      kind: task.kind,
      title,
      state: 'running',
      done: 0,
      total: null,
      message: 'Starting',
      startedAt: Date.now(),
      finishedAt: null,
      error: null
    }
    const running = runInWorker(task, (done, total) => {
      if (info.state !== 'running') return
      info.done = done
      info.total = total
      // The figures are done and total; the message says only what they do not ('Cancelling' stays).
      if (info.message === 'Starting') info.message = ''
      this.options.onUpdate({ ...info })
    })
    this.jobs.set(info.id, { info, cancel: running.cancel })
    running.result
      .then((result) => {
        info.state = 'succeeded'
        info.result = this.options.finish ? this.options.finish(task, result) : result
        info.message = 'Done'
        if (info.total !== null) info.done = info.total
      })
      .catch((error: unknown) => {
        const e = error instanceof RpcError ? error : new RpcError('Internal', String(error))
        info.state = e.code === 'Cancelled' ? 'cancelled' : 'failed'
        info.error = e.toJSON()
        info.message = e.message
      })
      .finally(() => {
        info.finishedAt = Date.now()
        this.options.cleanup?.(task)
        this.options.onUpdate({ ...info })
      })
    this.options.onUpdate({ ...info })
    return { ...info }
  }

  cancel(jobId: string): JobInfo {
    const job = this.jobs.get(jobId)
    if (!job) throw new RpcError('NotFound', `No job ${jobId} in this session`, { jobId })
    if (job.info.state === 'running') {
      job.cancel()
      job.info.message = 'Cancelling'
    }
    return { ...job.info }
  }

  get(jobId: string): JobInfo | undefined {
    const job = this.jobs.get(jobId)
    return job ? { ...job.info } : undefined
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => ({ ...j.info })).sort((a, b) => b.startedAt - a.startedAt)
  }

  /** Resolves when no job is running (tests and shutdown). */
  async idle(): Promise<void> {
    while ([...this.jobs.values()].some((j) => j.info.state === 'running')) await new Promise((r) => setTimeout(r, 20))
  }
}
