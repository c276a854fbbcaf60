import { defineDecider, reject, z } from 'workbench'

// The payment of one order: charged once, possibly declined first, refunded when the order falls through.

/** Charges above €2,000.00 need a manual fraud review, so the shop refuses them outright. */
const LIMIT_CENTS = 200_000

const orderId = z.string().min(1).describe('The order\'s number: 2722 for order-2722 (this stream: payment-2722)')

const commands = {
  ChargePayment: z.object({ orderId, customerId: z.string().min(1), amountCents: z.number().int().positive() }),
  // The card provider said no; recorded so the order can be compensated.
  DeclinePayment: z.object({ orderId, reason: z.enum(['insufficient-funds', 'card-expired', 'suspected-fraud']) }),
  RefundPayment: z.object({ orderId, amountCents: z.number().int().positive(), reason: z.string().min(1) })
}

type Command = { [T in keyof typeof commands]: { type: T; data: z.infer<(typeof commands)[T]>; metadata: Record<string, unknown> } }[keyof typeof commands]

type Event =
  | { type: 'PaymentCharged'; data: { orderId: string; amountCents: number } }
  | { type: 'PaymentDeclined'; data: { orderId: string } }
  | { type: 'PaymentRefunded'; data: { orderId: string; amountCents: number } }

type Payment = { status: 'none' | 'declined' | 'charged'; chargedCents: number; refundedCents: number }

const euros = (cents: number) => `€${(cents / 100).toFixed(2)}`

export default defineDecider<Payment>({
  name: 'payments',
  description: 'Card payments per order: charge (up to €2,000.00), decline, refund.',
  streamPrefix: 'payment',
  commands,
  streamId: (command) => `payment-${command.data.orderId}`,
  initialState: () => ({ status: 'none', chargedCents: 0, refundedCents: 0 }),

  evolve(payment, event) {
    const e = event as Event
    switch (e.type) {
      case 'PaymentCharged':
        return { ...payment, status: 'charged', chargedCents: e.data.amountCents }
      case 'PaymentDeclined':
        return { ...payment, status: 'declined' }
      case 'PaymentRefunded':
        return { ...payment, refundedCents: payment.refundedCents + e.data.amountCents }
      default:
        return payment
    }
  },

  decide(command, payment) {
    const c = command as Command
    const { orderId } = c.data
    switch (c.type) {
      case 'ChargePayment':
        // A declined card may be tried again; a charged order must never be charged twice.
        if (payment.status === 'charged') reject('AlreadyCharged', `Order ${orderId} is charged already (${euros(payment.chargedCents)})`)
        if (c.data.amountCents > LIMIT_CENTS) {
          reject('PaymentLimit', `A charge of ${euros(c.data.amountCents)} for order ${orderId} is above the ${euros(LIMIT_CENTS)} limit`)
        }
        return { type: 'PaymentCharged', data: c.data }
      case 'DeclinePayment':
        if (payment.status === 'charged') reject('AlreadyCharged', `Order ${orderId} is charged already; it cannot be declined`)
        return { type: 'PaymentDeclined', data: c.data }
      case 'RefundPayment': {
        if (payment.status !== 'charged') reject('NotCharged', `Order ${orderId} has not been charged; there is nothing to refund`)
        const refundable = payment.chargedCents - payment.refundedCents
        if (c.data.amountCents > refundable) {
          reject('RefundExceedsCharge', `Only ${euros(refundable)} of order ${orderId} can be refunded, not ${euros(c.data.amountCents)}`)
        }
        return { type: 'PaymentRefunded', data: c.data }
      }
    }
  }
})
