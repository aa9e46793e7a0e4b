// The conversion thread under the test runner, where the sources are TypeScript: tsx compiles
// them (converter.ts starts this file instead of worker.js when it runs from src/).
import { register } from 'tsx/esm/api'

register()
await import('./worker.ts')
