using System.IO.Hashing;
using System.Text;
using HttpCache.Engine.Http;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Tests.Storage;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// Format 4 names its checksum's algorithm, one byte between the stored body's length and the checksum; format 3
/// (XxHash3, no algorithm byte) is still read and checked.
/// </summary>
public sealed class EntryFormatFourTests
{
    private static readonly CacheRecordInfo Info = new() { Key = "k", PrimaryKey = "k", Method = "GET", Uri = "https://example.test/f" };

    private static readonly byte[] Body = Encoding.UTF8.GetBytes("a body of some length, to be checked");

    private static StoredResponse Entry() => new()
    {
        Record = Info,
        StatusCode = 200,
        Headers = [new("ETag", ["\"e\""])],
        VaryValues = [],
        Body = Body,
    };

    // Where the algorithm byte is: just before the checksum, the only place its eight bytes occur.
    private static int AlgorithmAt(byte[] metadata, ulong checksum)
    {
        var at = metadata.AsSpan().IndexOf(BitConverter.GetBytes(checksum));
        Assert.True(at > 0 && metadata.AsSpan(at + 1).IndexOf(BitConverter.GetBytes(checksum)) < 0);
        return at - 1;
    }

    [Fact]
    public void The_algorithm_byte_is_the_one_documented_and_the_checksum_is_CRC_32C_as_a_uint64()
    {
        var metadata = EntrySerializer.Serialize(Entry());

        Assert.Equal(4, metadata[2]);
        Assert.Equal(2, metadata[AlgorithmAt(metadata, EntryFormats.Crc32C(Body))]);
        Assert.Equal(Body.Length, BitConverter.ToInt64(metadata, AlgorithmAt(metadata, EntryFormats.Crc32C(Body)) - 8));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(255)]
    public void An_unknown_algorithm_is_corrupt_and_says_so(byte algorithm)
    {
        var metadata = EntrySerializer.Serialize(Entry());
        metadata[AlgorithmAt(metadata, EntryFormats.Crc32C(Body))] = algorithm;

        var thrown = Assert.Throws<InvalidDataException>(() => EntrySerializer.Deserialize(Info, metadata, Body));
        Assert.Contains("algorithm", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_format_3_entry_is_read_with_its_XxHash3_and_written_again_as_format_4()
    {
        var format3 = EntryFormats.AsFormatThree(Info, EntrySerializer.Serialize(Entry()), Body);
        Assert.Equal(3, format3[2]);

        var read = EntrySerializer.Deserialize(Info, format3, Body);

        Assert.Equal(new BodyChecksum(Body.Length, XxHash3.HashToUInt64(Body), BodyChecksumAlgorithm.XxHash3), read.Checksum);
        Assert.Equal("\"e\"", read.ETag);
        var again = EntrySerializer.Serialize(read);
        Assert.Equal(4, again[2]);
        Assert.Equal(BodyChecksum.Of(Body), EntrySerializer.Deserialize(Info, again, Body).Checksum);
    }

    [Fact]
    public void A_format_3_entry_whose_body_does_not_match_its_XxHash3_is_corrupt()
    {
        var format3 = EntryFormats.AsFormatThree(Info, EntrySerializer.Serialize(Entry()), Body);
        var damaged = (byte[])Body.Clone();
        damaged[3] ^= 1;

        var thrown = Assert.Throws<InvalidDataException>(() => EntrySerializer.Deserialize(Info, format3, damaged));
        Assert.Contains("checksum", thrown.Message, StringComparison.Ordinal);
    }
}
