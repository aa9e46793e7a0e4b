import { describe, expect, it } from 'vitest'
import { saveIndicator, saveIndicatorText } from './save-state.js'

describe('saveIndicator (docs/protocol.md, "What an editor shows")', () => {
  it('claims nothing unless the server acknowledges stored changes', () => {
    for (const savedState of ['unknown', 'unsupported'] as const) {
      for (const status of ['connecting', 'connected', 'disconnected'] as const) {
        expect(saveIndicator(status, savedState, 0)).toBe('none')
        expect(saveIndicator(status, savedState, 3)).toBe('none')
      }
    }
  })

  it('connected: saving while anything is unacknowledged, saved at zero', () => {
    expect(saveIndicator('connected', 'supported', 2)).toBe('saving')
    expect(saveIndicator('connected', 'supported', 0)).toBe('saved')
  })

  it('not connected (retrying or down): offline, with or without changes waiting', () => {
    for (const status of ['connecting', 'disconnected'] as const) {
      expect(saveIndicator(status, 'supported', 0)).toBe('offline')
      expect(saveIndicator(status, 'supported', 1)).toBe('offline-unsaved')
    }
  })
})

describe('saveIndicatorText', () => {
  it('says the exact words, singular for one change', () => {
    expect(saveIndicatorText('saving', 4, true)).toBe('Saving…')
    expect(saveIndicatorText('saved', 0, true)).toBe('All changes saved')
    expect(saveIndicatorText('offline', 0, true)).toBe('Offline')
    expect(saveIndicatorText('offline-unsaved', 1, true)).toBe('Offline — 1 change kept on this device')
    expect(saveIndicatorText('offline-unsaved', 3, true)).toBe('Offline — 3 changes kept on this device')
    expect(saveIndicatorText('none', 3, true)).toBe('')
  })

  it('promises "kept on this device" only with a local copy', () => {
    expect(saveIndicatorText('offline-unsaved', 1, false)).toBe('Offline — 1 unsaved change')
    expect(saveIndicatorText('offline-unsaved', 2, false)).toBe('Offline — 2 unsaved changes')
  })
})
