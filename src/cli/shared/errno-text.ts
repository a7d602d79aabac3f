// A local file system or stream error in words, for one-line messages.

/** The reason of an errno-style error ("no such file or directory"), else its message. */
export function errnoText(error: unknown): string {
  const e = error as NodeJS.ErrnoException | undefined;
  switch (e?.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return e?.message ?? String(error);
  }
}
