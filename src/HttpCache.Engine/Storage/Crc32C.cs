using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HttpCache.Engine.Storage;

/// <summary>
/// CRC-32C (Castagnoli), the body checksum of entry format 4. It is built on <see cref="BitOperations.Crc32C(uint, ulong)"/>,
/// which the processor computes (SSE 4.2 on x64, the CRC32 extension on Arm64) and which CoreLib ships precompiled, in
/// loops marked for full optimization at their first call: a short-lived pwsh checks a 64 KiB body in a few µs from its
/// first hit, where a hash from an IL-only library runs as unoptimized first-tier code for thousands of calls
/// (docs/performance.md, "The cost of checking bodies").
/// </summary>
internal static class Crc32C
{
    // Three lanes of this many bytes are computed side by side: the instruction's latency is three times its
    // throughput, so one lane alone runs at a third of the speed.
    private const int Lane = 4096;

    /// <summary>The register a checksum starts from; <see cref="Finish"/> turns the register into the checksum.</summary>
    public const uint Start = uint.MaxValue;

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Of(ReadOnlySpan<byte> data) => Finish(Append(Start, data));

    /// <summary>The checksum of what the register <paramref name="crc"/> has taken in.</summary>
    public static uint Finish(uint crc) => ~crc;

    /// <summary>The register after <paramref name="data"/>: pieces appended one after the other give the register of the whole.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        ref var start = ref MemoryMarshal.GetReference(data);
        var length = (nuint)data.Length;
        nuint done = 0;
        if (length >= 3 * Lane)
        {
            done = length - length % (3 * Lane);
            crc = AppendBlocks(crc, ref start, done);
        }

        return AppendLane(crc, ref Unsafe.Add(ref start, done), length - done);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint AppendLane(uint crc, ref byte data, nuint length)
    {
        nuint i = 0;
        for (; i + sizeof(ulong) <= length; i += sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref data, i)));
        }

        for (; i < length; i++)
        {
            crc = BitOperations.Crc32C(crc, Unsafe.Add(ref data, i));
        }

        return crc;
    }

    // Blocks of three lanes. The register of A then B is that of A moved over |B| zero bytes, xor that of B from zero:
    // the second and third lanes start from zero and the lanes before them are moved over a lane's length (Shift).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint AppendBlocks(uint crc, ref byte data, nuint length)
    {
        var shift = LaneShift.Table;
        for (nuint block = 0; block < length; block += 3 * Lane)
        {
            ref var lane = ref Unsafe.Add(ref data, block);
            uint first = crc, second = 0, third = 0;
            for (nuint i = 0; i < Lane; i += sizeof(ulong))
            {
                first = BitOperations.Crc32C(first, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref lane, i)));
                second = BitOperations.Crc32C(second, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref lane, i + Lane)));
                third = BitOperations.Crc32C(third, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref lane, i + 2 * Lane)));
            }

            crc = Shift(shift, Shift(shift, first) ^ second) ^ third;
        }

        return crc;
    }

    private static uint Shift(uint[] table, uint crc) =>
        table[(byte)crc] ^ table[256 + (byte)(crc >> 8)] ^ table[512 + (byte)(crc >> 16)] ^ table[768 + (crc >> 24)];

    // Moving a register over a lane of zero bytes is linear over GF(2): tabulated per byte of the register, from
    // its effect on each of the 32 bits. Built at the first body of three lanes or more (about 20 µs).
    private static class LaneShift
    {
        public static readonly uint[] Table = Build();

        private static uint[] Build()
        {
            var zeros = new byte[Lane];
            var bits = new uint[32];
            for (var bit = 0; bit < bits.Length; bit++)
            {
                bits[bit] = AppendLane(1u << bit, ref zeros[0], Lane);
            }

            var table = new uint[4 * 256];
            for (var part = 0; part < 4; part++)
            {
                for (var value = 1; value < 256; value++)
                {
                    // The lowest set bit's effect, xor that of the other bits (an entry already filled).
                    table[part * 256 + value] = table[part * 256 + (value & (value - 1))] ^ bits[8 * part + BitOperations.TrailingZeroCount(value)];
                }
            }

            return table;
        }
    }
}
