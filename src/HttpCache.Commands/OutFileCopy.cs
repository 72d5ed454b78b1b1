using System.Buffers;

namespace HttpCache.Commands;

/// <summary>
/// -OutFile's copy: one pooled 1 MiB buffer, read into and written out in turn on the same thread. Measured on a
/// 1 GiB hit (docs/performance.md), writing each piece on another thread while the next is read saved no time on
/// two busy cores and cost a third more CPU, so the copy stays this simple.
/// </summary>
internal static class OutFileCopy
{
    // Large enough that a cached gigabyte is a thousand reads and writes, not thirteen thousand (the stores read up
    // to a buffer's worth at a time).
    private const int BufferSize = 1024 * 1024;

    /// <summary>
    /// Copies <paramref name="source"/> to its end into <paramref name="file"/>. A failed read throws as it is; a
    /// failed write throws <see cref="OutFileWriteException"/>.
    /// </summary>
    public static async Task CopyAsync(Stream source, FileStream file, CancellationToken token)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, token).ConfigureAwait(false)) > 0)
            {
                try
                {
                    // Synchronous: an "async" FileStream on Unix only moves each write to a thread-pool thread.
                    file.Write(buffer, 0, read);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new OutFileWriteException(ex);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>Writing -OutFile failed (disk full, the file went away); the inner exception says how.</summary>
internal sealed class OutFileWriteException(Exception inner) : IOException(inner.Message, inner);
