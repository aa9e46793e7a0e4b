/**
 * Who the local user is: a display name and a colour, remembered per browser.
 *
 * Colours must be `#rrggbb`: CollaborationCaret (isValidColor) and y-tiptap both reject any
 * other format, and a rejected colour renders the caret transparent.
 */
export interface EditorUser {
  name: string
  color: string
}

/** Calm, saturated colours that keep white label text readable (WCAG AA on 12px bold). */
export const PALETTE = [
  '#e03131', // red
  '#d9480f', // orange
  '#b35c00', // amber (dark enough for white text)
  '#2f9e44', // green
  '#0c8599', // cyan
  '#1c7ed6', // blue
  '#4c6ef5', // indigo
  '#7048e8', // violet
  '#ae3ec9', // grape
  '#d6336c', // pink
] as const

const ADJECTIVES = [
  'Amber', 'Brave', 'Calm', 'Clever', 'Curious', 'Gentle', 'Happy', 'Jolly', 'Kind', 'Lively',
  'Lucky', 'Mellow', 'Nimble', 'Quiet', 'Quick', 'Sunny', 'Swift', 'Tidy', 'Witty', 'Zesty',
]
const ANIMALS = [
  'Badger', 'Beaver', 'Crane', 'Dolphin', 'Falcon', 'Fox', 'Heron', 'Koala', 'Lynx', 'Marten',
  'Otter', 'Owl', 'Panda', 'Puffin', 'Quokka', 'Raven', 'Seal', 'Tiger', 'Walrus', 'Wren',
]

const MAX_NAME_LENGTH = 40

export const isValidColor = (color: unknown): color is string =>
  typeof color === 'string' && /^#[0-9a-fA-F]{6}$/.test(color)

const randomInt = (n: number): number => {
  const buf = new Uint32Array(1)
  crypto.getRandomValues(buf)
  return buf[0]! % n
}

/** A friendly two-word name such as "Curious Otter". */
export const generateName = (): string =>
  `${ADJECTIVES[randomInt(ADJECTIVES.length)]} ${ANIMALS[randomInt(ANIMALS.length)]}`

/** FNV-1a: a tiny stable string hash, so the same name gets the same colour everywhere. */
const hash = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export const colorForName = (name: string): string => PALETTE[hash(name) % PALETTE.length]!

/** Trims, collapses whitespace and caps the length; an empty result means "no name". */
export const cleanName = (name: string | null | undefined): string =>
  (name ?? '').replace(/\s+/g, ' ').trim().slice(0, MAX_NAME_LENGTH)

const STORAGE_KEY = 'tandem:user'

/** localStorage can throw (Safari private mode, sandboxed iframes): identity then lives for the page only. */
function readStored(storage: Storage | undefined): EditorUser | undefined {
  try {
    const raw = storage?.getItem(STORAGE_KEY)
    if (!raw) return undefined
    const parsed = JSON.parse(raw) as Partial<EditorUser>
    const name = cleanName(parsed.name)
    if (!name) return undefined
    return { name, color: isValidColor(parsed.color) ? parsed.color : colorForName(name) }
  } catch {
    return undefined
  }
}

export function rememberUser(user: EditorUser, storage: Storage | undefined = globalThis.localStorage): void {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(user))
  } catch {
    // Storage full or forbidden: the identity still works for this page.
  }
}

/**
 * The page's identity: ?name= wins, else the name remembered from last time, else a generated
 * one. The colour stays with the remembered identity (renaming yourself keeps your colour);
 * a name that differs from the remembered one gets the colour its name hashes to, so two
 * people who open links with different ?name= values get different colours.
 */
export function resolveUser(
  nameParam: string | null,
  storage: Storage | undefined = globalThis.localStorage,
): EditorUser {
  const stored = readStored(storage)
  const fromParam = cleanName(nameParam)
  let user: EditorUser
  if (fromParam) {
    user = stored && stored.name === fromParam ? stored : { name: fromParam, color: colorForName(fromParam) }
  } else if (stored) {
    user = stored
  } else {
    const name = generateName()
    user = { name, color: colorForName(name) }
  }
  rememberUser(user, storage)
  return user
}

/** Initials for an avatar chip: "Curious Otter" → "CO", "Ada (embed)" → "AE". */
export const initials = (name: string): string =>
  name
    .split(/\s+/)
    .map((w) => /[\p{L}\p{N}]/u.exec(w)?.[0])
    .filter((c): c is string => c !== undefined)
    .slice(0, 2)
    .join('')
    .toUpperCase() || '?'

/** Whether white text on `#rrggbb` has a contrast ratio of at least 4.5 (WCAG 2 relative luminance). */
export function whiteReadsOn(color: string): boolean {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color)
  if (!m) return true
  const channel = (hex: string) => {
    const c = parseInt(hex, 16) / 255
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  }
  const luminance = 0.2126 * channel(m[1]!) + 0.7152 * channel(m[2]!) + 0.0722 * channel(m[3]!)
  return 1.05 / (luminance + 0.05) >= 4.5
}
