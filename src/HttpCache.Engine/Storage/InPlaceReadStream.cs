namespace HttpCache.Engine.Storage;

/// <summary>
/// A stored body read back from local storage (a file, SQLite's pages): read-only and forward-only, and read in
/// place. Such a read returns at once, while a <see cref="FileStream"/> opened for synchronous I/O (or SQLite, which
/// has no asynchronous I/O) would run each <c>ReadAsync</c> on a thread-pool thread: a hop per piece of a body that
/// may be a gigabyte. Subclasses give <see cref="Read(Span{byte})"/>, what they can say of length and position, and
/// what disposing releases.
/// </summary>
internal abstract class InPlaceReadStream : Stream
{
    public sealed override bool CanSeek => false;

    public sealed override bool CanWrite => false;

    public abstract override int Read(Span<byte> buffer);

    public sealed override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public sealed override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public sealed override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        try
        {
            return ValueTask.FromResult(Read(buffer.Span));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<int>(ex);
        }
    }

    public sealed override void Flush()
    {
    }

    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public sealed override void SetLength(long value) => throw new NotSupportedException();

    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
