/** Content the schema does not allow (HTTP 400): nothing of it is applied. */
export class InvalidContent extends Error {
  override readonly name = 'InvalidContent'
}
