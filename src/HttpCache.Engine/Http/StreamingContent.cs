using System.Net;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Http;

/// <summary>
/// An origin's body that writes itself into the store as the caller reads it: the entry is committed
/// when the caller reaches the end, and abandoned when the body outgrows the limit, the store fails, or
/// the caller stops early (an interrupted download is never cached as complete).
/// </summary>
internal sealed class TeeContent : HttpContent
{
    private readonly HttpContent inner;
    private readonly TeeStream.Sink sink;

    public TeeContent(HttpContent inner, TeeStream.Sink sink)
    {
        this.inner = inner;
        this.sink = sink;
        foreach (var (name, values) in inner.Headers.NonValidated)
        {
            Headers.TryAddWithoutValidation(name, values);
        }
    }

    protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) =>
        new TeeStream(await inner.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), sink);

    protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await using var tee = await CreateContentReadStreamAsync(cancellationToken).ConfigureAwait(false);
        await tee.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = inner.Headers.ContentLength ?? 0;
        return inner.Headers.ContentLength is not null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            sink.Abandon();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>Reads the origin's stream and hands every piece to a <see cref="Sink"/>.</summary>
internal sealed class TeeStream(Stream source, TeeStream.Sink sink) : ReadOnlyStream
{
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            // A zero-length read only waits for data; it says nothing about the end of the body.
            return await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        var read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        await sink.AcceptAsync(buffer[..read], cancellationToken).ConfigureAwait(false);
        return read;
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return source.Read(buffer);
        }

        var read = source.Read(buffer);
        sink.AcceptAsync(buffer[..read].ToArray(), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            sink.Abandon();
            source.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Where the pieces go: a store writer, committed at the end of the body.</summary>
    internal sealed class Sink(ICacheBodyWriter writer, long maxSize, Func<BodyChecksum, byte[]> finalMetadata, Action<long> committed, Action<string, Exception?> abandoned)
    {
        // The entry's metadata carries the body's checksum, known only at the end: the commit writes it. A writer that
        // takes it itself is asked for it rather than every byte hashed twice.
        private readonly BodyChecksum.Builder? checksum = writer is IChecksummingBodyWriter ? null : new();
        private long written;
        private int state; // 0 writing, 1 done

        public async ValueTask AcceptAsync(ReadOnlyMemory<byte> piece, CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref state) != 0)
            {
                return;
            }

            try
            {
                if (piece.Length == 0)
                {
                    await writer.CommitAsync(finalMetadata(checksum?.Current ?? ((IChecksummingBodyWriter)writer).Checksum), cancellationToken).ConfigureAwait(false);
                    if (Interlocked.Exchange(ref state, 1) == 0)
                    {
                        await writer.DisposeAsync().ConfigureAwait(false);
                    }

                    committed(written);
                    return;
                }

                written += piece.Length;
                if (written > maxSize)
                {
                    Finish();
                    abandoned($"the body grew past {maxSize} bytes", null);
                    return;
                }

                checksum?.Append(piece.Span);
                await writer.WriteAsync(piece, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The caller still gets every byte; only the stored copy is given up.
                Finish();
                abandoned("the store failed", ex);
            }
        }

        public void Abandon()
        {
            if (Volatile.Read(ref state) == 0)
            {
                Finish();
            }
        }

        /// <summary>Gives the entry up; the store deletes what was written without the caller waiting for it.</summary>
        private void Finish()
        {
            if (Interlocked.Exchange(ref state, 1) == 0)
            {
                _ = AbandonAsync(writer);
            }
        }

        private static async Task AbandonAsync(ICacheBodyWriter writer)
        {
            try
            {
                await writer.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // What an abandoned write leaves behind, the store's own clean-up removes (pending writes expire).
            }
        }
    }
}

/// <summary>
/// A stored body read from a streaming store only when the caller reads it, checked against the entry's
/// checksum as it is read. Damage found once bytes went out (another length, other bytes, a read that fails)
/// fails that read with a <see cref="CachedBodyDamagedException"/> saying so; <paramref name="damaged"/> has removed the
/// entry by then, so the next request is a clean miss.
/// </summary>
internal sealed class StoredBodyContent(IStreamingCacheStore store, CacheRecordInfo record, BodyChecksum expected, Func<CacheRecordInfo, Task> damaged) : HttpContent
{
    protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken)
    {
        var body = await store.OpenBodyAsync(record.Key, cancellationToken).ConfigureAwait(false)
            ?? throw new IOException($"The cached body of entry {record.Key} was removed while it was being served.");
        return new VerifiedBodyStream(body, expected, detail => Damaged(detail));
    }

    protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await using var body = await CreateContentReadStreamAsync(cancellationToken).ConfigureAwait(false);
        await body.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }

    private async Task<IOException> Damaged(string detail)
    {
        await damaged(record).ConfigureAwait(false);
        return new CachedBodyDamagedException(
            $"The cached body of {record.Uri} (entry {record.Key}) is damaged: {detail}. The entry was removed; the next request fetches it from the origin.",
            record.Uri,
            record.Key);
    }
}

/// <summary>
/// A stored body's stream that checks its length and checksum as it is read. A store's stream that checks the same
/// checksum itself (<see cref="ISelfCheckingBodyStream"/>) is trusted to do so: its failure is the damage.
/// </summary>
internal sealed class VerifiedBodyStream(Stream inner, BodyChecksum expected, Func<string, Task<IOException>> damaged) : ReadOnlyStream
{
    private readonly BodyChecksum.Builder seen = new(expected.Algorithm);
    private readonly bool innerChecks = inner is ISelfCheckingBodyStream self && self.Checks == expected;
    private bool failed;
    private bool ended;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read;
        try
        {
            read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex) when (!failed)
        {
            failed = true;
            throw await damaged($"reading it failed ({ex.Message})").ConfigureAwait(false);
        }

        return Problem(buffer.Span[..read], buffer.IsEmpty) is { } problem
            ? throw await damaged(problem).ConfigureAwait(false)
            : read;
    }

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            read = inner.Read(buffer);
        }
        catch (IOException ex) when (!failed)
        {
            failed = true;
            throw damaged($"reading it failed ({ex.Message})").GetAwaiter().GetResult();
        }

        return Problem(buffer[..read], buffer.IsEmpty) is { } problem
            ? throw damaged(problem).GetAwaiter().GetResult()
            : read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    // What is wrong so far, once: more bytes than the entry holds, or at the end another length or hash.
    private string? Problem(ReadOnlySpan<byte> piece, bool probe)
    {
        if (failed || ended || innerChecks)
        {
            return null;
        }

        if (!piece.IsEmpty)
        {
            seen.Append(piece);
            if (seen.Length <= expected.Length)
            {
                return null;
            }
        }
        else if (probe)
        {
            // A zero-length read only waits for data; it says nothing about the end of the body.
            return null;
        }

        ended = piece.IsEmpty;
        var actual = seen.Current;
        if (actual == expected)
        {
            return null;
        }

        failed = true;
        return actual.Length != expected.Length
            ? actual.Length > expected.Length
                ? $"it holds more than the {expected.Length} bytes recorded with it"
                : $"it holds {actual.Length} of the {expected.Length} bytes recorded with it"
            : "its bytes do not match the checksum recorded with it";
    }
}
