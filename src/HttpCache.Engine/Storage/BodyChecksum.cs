using System.IO.Hashing;
using System.Runtime.CompilerServices;

namespace HttpCache.Engine.Storage;

/// <summary>The algorithm of a stored body's checksum. The entry format names it, so changing it is a format change.</summary>
public enum BodyChecksumAlgorithm : byte
{
    /// <summary>XxHash3, 64 bits: what entry format 3 stores, still read and checked.</summary>
    XxHash3 = 1,

    /// <summary>CRC-32C (Castagnoli): what entry format 4 stores, written since.</summary>
    Crc32C = 2,
}

/// <summary>
/// A stored body's length and checksum, kept in the entry's metadata on every backend and checked before the body is
/// served. New checksums are CRC-32C, which the processor computes in a few µs for a 64 KiB body even in a fresh
/// process (docs/performance.md); XxHash3 (entry format 3) is still checked. Either guards against damage (a cut or
/// edited file, a missing chunk, a changed Redis value), not against an attacker who can also rewrite the metadata.
/// </summary>
/// <param name="Length">The body's length in bytes.</param>
/// <param name="Hash">The checksum: CRC-32C in the low 32 bits, or XxHash3's 64.</param>
/// <param name="Algorithm">The algorithm of <paramref name="Hash"/>.</param>
public readonly record struct BodyChecksum(long Length, ulong Hash, BodyChecksumAlgorithm Algorithm)
{
    /// <summary>The algorithm new checksums are taken with.</summary>
    public const BodyChecksumAlgorithm Written = BodyChecksumAlgorithm.Crc32C;

    /// <summary>The checksum of a whole body, taken with <see cref="Written"/>.</summary>
    public static BodyChecksum Of(ReadOnlySpan<byte> body) => new(body.Length, Crc32C.Of(body), Written);

    /// <summary>Whether <paramref name="body"/> is the body this checksum was taken of.</summary>
    public bool Matches(ReadOnlySpan<byte> body) =>
        body.Length == Length
        && (Algorithm == BodyChecksumAlgorithm.Crc32C ? Crc32C.Of(body) : XxHash3Of(body, Algorithm)) == Hash;

    // Apart, so that a process that meets no format-3 entry never loads System.IO.Hashing.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong XxHash3Of(ReadOnlySpan<byte> body, BodyChecksumAlgorithm algorithm) =>
        algorithm == BodyChecksumAlgorithm.XxHash3 ? XxHash3.HashToUInt64(body) : throw Unknown(algorithm);

    private static ArgumentOutOfRangeException Unknown(BodyChecksumAlgorithm algorithm) =>
        new(nameof(algorithm), algorithm, "Not a body checksum algorithm.");

    /// <summary>Takes a checksum piece by piece, as a body streams.</summary>
    public sealed class Builder
    {
        private readonly XxHash3Builder? xxHash3;
        private uint crc = Crc32C.Start;

        /// <summary>A builder for a new checksum, taken with <see cref="Written"/>.</summary>
        public Builder()
            : this(Written)
        {
        }

        /// <summary>A builder for a checksum taken with <paramref name="algorithm"/>: to check a body against a stored one.</summary>
        public Builder(BodyChecksumAlgorithm algorithm)
        {
            Algorithm = algorithm;
            xxHash3 = algorithm switch
            {
                BodyChecksumAlgorithm.Crc32C => null,
                BodyChecksumAlgorithm.XxHash3 => new XxHash3Builder(),
                _ => throw Unknown(algorithm),
            };
        }

        /// <summary>The algorithm of the checksum built.</summary>
        public BodyChecksumAlgorithm Algorithm { get; }

        /// <summary>Bytes seen so far.</summary>
        public long Length { get; private set; }

        /// <summary>The checksum of everything appended.</summary>
        public BodyChecksum Current => new(Length, xxHash3?.Current ?? Crc32C.Finish(crc), Algorithm);

        /// <summary>Adds the next piece.</summary>
        public void Append(ReadOnlySpan<byte> piece)
        {
            if (xxHash3 is null)
            {
                crc = Crc32C.Append(crc, piece);
            }
            else
            {
                xxHash3.Append(piece);
            }

            Length += piece.Length;
        }
    }

    // A class of its own, for the same reason as XxHash3Of.
    private sealed class XxHash3Builder
    {
        private readonly XxHash3 hash = new();

        public ulong Current => hash.GetCurrentHashAsUInt64();

        public void Append(ReadOnlySpan<byte> piece) => hash.Append(piece);
    }
}
