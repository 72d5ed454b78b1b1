using System.IO.Hashing;

namespace HttpCache.Engine.Storage;

/// <summary>
/// A stored body's length and XxHash3 (64 bits), kept in the entry's metadata on every backend and checked
/// before the body is served. XxHash3 reads many gigabytes a second, so the check costs a hit microseconds
/// (docs/performance.md); it guards against damage (a cut or edited file, a missing chunk, a changed Redis
/// value), not against an attacker who can also rewrite the metadata.
/// </summary>
public readonly record struct BodyChecksum(long Length, ulong Hash)
{
    /// <summary>The checksum of a whole body.</summary>
    public static BodyChecksum Of(ReadOnlySpan<byte> body) => new(body.Length, XxHash3.HashToUInt64(body));

    /// <summary>Whether <paramref name="body"/> is the body this checksum was taken of.</summary>
    public bool Matches(ReadOnlySpan<byte> body) => body.Length == Length && XxHash3.HashToUInt64(body) == Hash;

    /// <summary>Takes a checksum piece by piece, as a body streams.</summary>
    public sealed class Builder
    {
        private readonly XxHash3 hash = new();

        /// <summary>Bytes seen so far.</summary>
        public long Length { get; private set; }

        /// <summary>Adds the next piece.</summary>
        public void Append(ReadOnlySpan<byte> piece)
        {
            hash.Append(piece);
            Length += piece.Length;
        }

        /// <summary>The checksum of everything appended.</summary>
        public BodyChecksum Current => new(Length, hash.GetCurrentHashAsUInt64());
    }
}
