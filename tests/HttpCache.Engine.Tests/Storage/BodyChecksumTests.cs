using System.IO.Hashing;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// New bodies are checked with CRC-32C, computed three lanes at a time: it must be the CRC-32C everyone else computes,
/// whole or in pieces, at every length around the lanes' blocks. XxHash3 (entry format 3) is still checked.
/// </summary>
public sealed class BodyChecksumTests
{
    private static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void The_CRC_32C_of_the_check_string_is_the_published_one()
    {
        var checksum = BodyChecksum.Of("123456789"u8);

        Assert.Equal(new BodyChecksum(9, 0xE3069283, BodyChecksumAlgorithm.Crc32C), checksum);
        Assert.Equal(BodyChecksumAlgorithm.Crc32C, BodyChecksum.Written);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(1024)]
    [InlineData(3 * 4096 - 1)]
    [InlineData(3 * 4096)]
    [InlineData(3 * 4096 + 1)]
    [InlineData(6 * 4096 + 9)]
    [InlineData(65536)]
    [InlineData(1024 * 1024 + 3)]
    public void Every_length_gives_the_CRC_32C_of_the_reference_code(int length)
    {
        var body = Random(length, length);

        Assert.Equal(EntryFormats.Crc32C(body), BodyChecksum.Of(body).Hash);
        Assert.Equal(EntryFormats.Crc32C(body), Crc32C.Of(body));
    }

    [Fact]
    public void Pieces_of_any_size_build_the_checksum_of_the_whole()
    {
        var body = Random(300_000, 1);
        var random = new Random(2);
        var builder = new BodyChecksum.Builder();

        for (var at = 0; at < body.Length;)
        {
            var piece = Math.Min(body.Length - at, random.Next(0, 40_000));
            builder.Append(body.AsSpan(at, piece));
            at += piece;
        }

        Assert.Equal(BodyChecksum.Of(body), builder.Current);
        Assert.Equal(new BodyChecksum(body.Length, EntryFormats.Crc32C(body), BodyChecksumAlgorithm.Crc32C), builder.Current);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5000)]
    [InlineData(100_000)]
    public void Any_changed_bit_or_byte_count_no_longer_matches(int length)
    {
        var body = Random(length + 1, 3);
        var checksum = BodyChecksum.Of(body);

        Assert.True(checksum.Matches(body));
        Assert.False(checksum.Matches(body.AsSpan(0, length)));
        Assert.False(checksum.Matches([.. body, 0]));
        for (var bit = 0; bit < 8; bit++)
        {
            var damaged = (byte[])body.Clone();
            damaged[length / 2] ^= (byte)(1 << bit);
            Assert.False(checksum.Matches(damaged));
        }
    }

    [Fact]
    public void An_XxHash3_checksum_is_still_built_and_checked_with_XxHash3()
    {
        var body = Random(70_000, 4);
        var stored = new BodyChecksum(body.Length, XxHash3.HashToUInt64(body), BodyChecksumAlgorithm.XxHash3);
        var builder = new BodyChecksum.Builder(BodyChecksumAlgorithm.XxHash3);
        builder.Append(body.AsSpan(0, 12_345));
        builder.Append(body.AsSpan(12_345));

        Assert.Equal(stored, builder.Current);
        Assert.True(stored.Matches(body));
        body[1] ^= 1;
        Assert.False(stored.Matches(body));
    }
}
