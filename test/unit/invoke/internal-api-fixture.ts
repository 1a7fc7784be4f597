import type { InvokeHead } from '../../../sidecar/api/internal/invoke-messages.js';
import type { Logger } from '../../../sidecar/components/component.js';

/** Shared by the internal API unit tests: a logger that drops everything, and a call's head. */

export const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

/** The head of a POST from app `a` to `method`. */
export const head = (method: string): InvokeHead => ({
  method,
  verb: 'POST',
  query: '',
  contentType: 'text/plain',
  metadata: { 'dapr-caller-app-id': ['a'] },
});
