using System.Buffers;
using System.IO.Compression;
using HttpCache.Engine.Policy;

namespace HttpCache.Engine.Http;

/// <summary>Compression of stored bodies, and reading an answer's body within a size bound.</summary>
internal static class BodyCodec
{
    /// <summary>The body compressed for storage, with its encoding; the body itself when compressing does not pay.</summary>
    public static (byte[] Body, string? Encoding) Compress(byte[] body, BodyCompression compression)
    {
        if (compression == BodyCompression.None || body.Length == 0)
        {
            return (body, null);
        }

        using var output = new MemoryStream(body.Length / 2 + 64);
        using (Stream encoder = compression == BodyCompression.Brotli
            ? new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true)
            : new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            encoder.Write(body);
        }

        return output.Length < body.Length
            ? (output.ToArray(), compression == BodyCompression.Brotli ? "br" : "gzip")
            : (body, null);
    }

    /// <summary>The original body of a compressed one; <see cref="InvalidDataException"/> when it does not decode to its recorded length.</summary>
    public static byte[] Decompress(byte[] stored, string encoding, long originalLength)
    {
        if (originalLength > int.MaxValue)
        {
            throw new InvalidDataException("The entry's original length is impossible.");
        }

        try
        {
            using Stream decoder = encoding == "br"
                ? new BrotliStream(new MemoryStream(stored, writable: false), CompressionMode.Decompress)
                : new GZipStream(new MemoryStream(stored, writable: false), CompressionMode.Decompress);
            var body = new byte[originalLength];
            decoder.ReadExactly(body);
            if (decoder.ReadByte() != -1)
            {
                throw new InvalidDataException("The entry's body is longer than recorded.");
            }

            return body;
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException)
        {
            throw new InvalidDataException("The entry's compressed body is damaged.", ex);
        }
    }

    /// <summary>
    /// Reads the whole body when it is at most <paramref name="maxSize"/> bytes, and gives the answer a
    /// re-readable copy. Otherwise returns null and gives the answer a content that replays what was
    /// read and streams the rest: a large body is never held whole.
    /// </summary>
    public static async Task<byte[]?> ReadUpToAsync(HttpResponseMessage response, long maxSize, CancellationToken cancellationToken)
    {
        var original = response.Content;
        if (original is null)
        {
            return [];
        }

        var source = await original.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var expected = original.Headers.ContentLength;
        var buffer = new MemoryStream(expected is > 0 and <= 1024 * 1024 ? (int)expected : 4096);
        // Pooled: a fresh 80 KiB buffer per answer was most of what a miss allocated.
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await source.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > maxSize)
                {
                    buffer.Position = 0;
                    response.Content = WithHeaders(new StreamContent(new ReplayStream(buffer, source)), original);
                    return null;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        var body = buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();
        response.Content = WithHeaders(new ByteArrayContent(body), original);
        original.Dispose();
        return body;
    }

    private static HttpContent WithHeaders(HttpContent content, HttpContent from)
    {
        foreach (var (name, values) in from.Headers.NonValidated)
        {
            content.Headers.TryAddWithoutValidation(name, values);
        }

        return content;
    }

    /// <summary>What was already read, then the rest of the origin's stream.</summary>
    private sealed class ReplayStream(MemoryStream head, Stream tail) : ReadOnlyStream
    {
        public override int Read(Span<byte> buffer)
        {
            var fromHead = head.Read(buffer);
            return fromHead > 0 ? fromHead : tail.Read(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var fromHead = head.Read(buffer.Span);
            return fromHead > 0 ? fromHead : await tail.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                head.Dispose();
                tail.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
