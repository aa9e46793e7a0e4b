/**
 * `tandem/close-codes`: WebSocket close codes only through the named constants of the close-code
 * module (`CloseCode` in @tandem/sync), never as numeric literals. A bare 1008 says nothing about
 * why a socket was closed, and a typo (1080, 4031) is a different, valid-looking code that no
 * client handles as meant.
 *
 * A numeric literal is a close code when it is in the ranges the protocol uses (1000-1015 from
 * RFC 6455 §7.4.1, 4000-4999 for Tandem's own) and it is used as one:
 *   - passed to `close(...)` / `x.close(...)` (the first argument);
 *   - passed where the parameter is named `code` or `closeCode` (with type information: any
 *     call; without it: the arguments of `new SomethingError(...)`);
 *   - assigned to, initialising, defaulting or compared with a name such as `code`, `closeCode`,
 *     `CLOSE_CODE` (identifier, member or object key), or a `case` of a `switch` on one.
 * The close-code module itself is exempted in eslint.config.js: it is where the numbers live.
 */

const isCloseCodeNumber = (v) => typeof v === 'number' && Number.isInteger(v) && ((v >= 1000 && v <= 1015) || (v >= 4000 && v <= 4999))

/** `code`, `closeCode`, `close_code`, `CLOSE_CODE`, `lastCloseCode` — not `statusCode`, `keyCode`. */
const isCodeName = (name) => {
  if (typeof name !== 'string') return false
  const n = name.replace(/_/g, '').toLowerCase()
  return n === 'code' || n.endsWith('closecode')
}

/** The name a node stands for: identifier, member property, literal key. */
function nameOf(node) {
  if (!node) return undefined
  switch (node.type) {
    case 'Identifier':
      return node.name
    case 'PrivateIdentifier':
      return node.name
    case 'MemberExpression':
      return node.computed ? (node.property.type === 'Literal' ? String(node.property.value) : undefined) : nameOf(node.property)
    case 'ChainExpression':
      return nameOf(node.expression)
    case 'TSNonNullExpression':
      return nameOf(node.expression)
    case 'Literal':
      return typeof node.value === 'string' ? node.value : undefined
    default:
      return undefined
  }
}

/** Skips wrappers that do not change the value: `(1008)`, `1008 as const`, `1008 satisfies number`. */
function outerOf(node) {
  let n = node
  while (n.parent && (n.parent.type === 'TSAsExpression' || n.parent.type === 'TSSatisfiesExpression' || n.parent.type === 'TSTypeAssertion' || n.parent.type === 'TSNonNullExpression')) n = n.parent
  return n
}

const COMPARISONS = new Set(['===', '!==', '==', '!=', '<', '<=', '>', '>='])

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: { description: 'WebSocket close codes only via the named constants of the close-code module (CloseCode)' },
    schema: [],
    messages: {
      literal: 'Close code {{value}} as a number: use the named constant from the close-code module (CloseCode in @tandem/sync).',
    },
  },
  create(context) {
    const services = context.sourceCode.parserServices
    const checker = services?.program && services.esTreeNodeToTSNodeMap ? services.program.getTypeChecker() : undefined

    /** Parameter name for argument `index` of a call, from the resolved signature (type-aware only). */
    function parameterName(call, index) {
      if (!checker) return undefined
      const tsNode = services.esTreeNodeToTSNodeMap.get(call)
      const signature = tsNode && checker.getResolvedSignature(tsNode)
      if (!signature) return undefined
      const params = signature.getParameters()
      if (params.length === 0) return undefined
      const p = index < params.length ? params[index] : params[params.length - 1] // a rest parameter takes the rest
      return p?.getName()
    }

    function isCloseCodeUse(literal) {
      const node = outerOf(literal)
      const parent = node.parent
      if (!parent) return false
      switch (parent.type) {
        case 'CallExpression':
        case 'NewExpression': {
          const index = parent.arguments.indexOf(node)
          if (index < 0) return false
          if (parent.type === 'CallExpression' && index === 0 && nameOf(parent.callee) === 'close') return true
          if (isCodeName(parameterName(parent, index))) return true
          return !checker && parent.type === 'NewExpression' && /Error$/.test(nameOf(parent.callee) ?? '')
        }
        case 'Property':
          return parent.value === node && isCodeName(nameOf(parent.key))
        case 'PropertyDefinition':
          return parent.value === node && isCodeName(nameOf(parent.key))
        case 'AssignmentExpression':
          return parent.right === node && isCodeName(nameOf(parent.left))
        case 'AssignmentPattern':
          return parent.right === node && isCodeName(nameOf(parent.left))
        case 'VariableDeclarator':
          return parent.init === node && isCodeName(nameOf(parent.id))
        case 'BinaryExpression':
          return COMPARISONS.has(parent.operator) && isCodeName(nameOf(parent.left === node ? parent.right : parent.left))
        case 'SwitchCase':
          return parent.test === node && isCodeName(nameOf(parent.parent.discriminant))
        default:
          return false
      }
    }

    return {
      Literal(node) {
        if (isCloseCodeNumber(node.value) && isCloseCodeUse(node)) {
          context.report({ node, messageId: 'literal', data: { value: String(node.value) } })
        }
      },
    }
  },
}
