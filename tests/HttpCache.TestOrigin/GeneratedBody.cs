using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace HttpCache.Testing;

/// <summary>
/// A deterministic body of any length, made block by block as it is written (SplitMix64 of each 8-byte word's
/// position): the same bytes every time, incompressible, and never all in memory.
/// </summary>
public static class GeneratedBody
{
    private const int BlockSize = 64 * 1024;

    /// <summary>Writes the first <paramref name="length"/> bytes.</summary>
    public static async Task WriteAsync(Stream output, long length, CancellationToken cancellationToken)
    {
        var block = new byte[BlockSize];
        for (long offset = 0, index = 0; offset < length; offset += BlockSize, index++)
        {
            Fill(block, index);
            await output.WriteAsync(block.AsMemory(0, (int)Math.Min(BlockSize, length - offset)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The SHA-256 of the first <paramref name="length"/> bytes, computed without holding them.</summary>
    public static byte[] Sha256(long length)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var block = new byte[BlockSize];
        for (long offset = 0, index = 0; offset < length; offset += BlockSize, index++)
        {
            Fill(block, index);
            sha.AppendData(block, 0, (int)Math.Min(BlockSize, length - offset));
        }

        return sha.GetHashAndReset();
    }

    private static void Fill(byte[] block, long index)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(block.AsSpan());
        var first = (ulong)index * (ulong)words.Length;
        for (var i = 0; i < words.Length; i++)
        {
            var z = first + (ulong)i + 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            words[i] = z ^ (z >> 31);
        }
    }
}
