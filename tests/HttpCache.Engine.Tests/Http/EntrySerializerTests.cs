using System.Text;
using HttpCache.Engine.Http;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Tests.Storage;

namespace HttpCache.Engine.Tests.Http;

public sealed class EntrySerializerTests
{
    private static readonly CacheRecordInfo Info = new()
    {
        Key = "k.v",
        PrimaryKey = "k",
        Method = "GET",
        Uri = "https://example.test/x",
        StatusCode = 200,
        CreatedAt = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero),
    };

    private static readonly byte[] Body = Encoding.UTF8.GetBytes("the body");

    private static StoredResponse RealEntry() => new()
    {
        Record = Info,
        StatusCode = 203,
        ReasonPhrase = "Non-Authoritative Information é",
        Version = new Version(2, 0),
        Headers =
        [
            new("ETag", ["\"v1\""]),
            new("Set-Cookie", ["a=1", "b=2"]),
            new("Content-Type", ["text/plain; charset=utf-8"]),
            new("X-Empty", []),
            new("X-Unicode", ["ünïcödé ✓"]),
        ],
        VaryValues = [new("Accept", "text/plain"), new("Accept-Language", "")],
        // Not UTC and not on a tick boundary that a coarser format would keep.
        RequestTime = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)).AddTicks(1234567),
        ResponseTime = new DateTimeOffset(2025, 1, 2, 3, 4, 6, TimeSpan.FromHours(2)).AddTicks(7654321),
        InitialAge = TimeSpan.FromTicks(98765432),
        Body = Body,
    };

    private static StoredResponse Read(byte[] metadata) => EntrySerializer.Deserialize(Info, metadata, Body);

    /// <summary>Asserts that reading fails with <see cref="InvalidDataException"/> and nothing else.</summary>
    private static void AssertCorrupt(byte[] metadata, string because)
    {
        var thrown = Record.Exception(() => Read(metadata));
        Assert.True(thrown is InvalidDataException, $"{because}: expected InvalidDataException, got {thrown?.GetType().Name ?? "no exception"} ({thrown?.Message})");
    }

    [Fact]
    public void Round_trip_keeps_every_field()
    {
        var original = RealEntry();

        var read = EntrySerializer.Deserialize(Info, EntrySerializer.Serialize(original), Body);

        Assert.Same(Info, read.Record);
        Assert.Same(Body, read.Body);
        Assert.Equal(original.StatusCode, read.StatusCode);
        Assert.Equal(original.ReasonPhrase, read.ReasonPhrase);
        Assert.Equal(original.Version, read.Version);
        Assert.Equal(original.RequestTime, read.RequestTime);
        Assert.Equal(original.ResponseTime, read.ResponseTime);
        Assert.Equal(original.RequestTime.UtcTicks, read.RequestTime.UtcTicks);
        Assert.Equal(original.InitialAge, read.InitialAge);
        Assert.Equal(original.Headers.Select(h => h.Key), read.Headers.Select(h => h.Key));
        Assert.Equal(original.Headers.Select(h => string.Join("\n", h.Value)), read.Headers.Select(h => string.Join("\n", h.Value)));
        Assert.Equal(original.Headers.Select(h => h.Value.Length), read.Headers.Select(h => h.Value.Length));
        Assert.Equal(original.VaryValues, read.VaryValues);
    }

    [Fact]
    public void Round_trip_of_a_minimal_entry()
    {
        var original = new StoredResponse { Record = Info, StatusCode = 200, Headers = [] };

        var read = EntrySerializer.Deserialize(Info, EntrySerializer.Serialize(original), []);

        Assert.Null(read.ReasonPhrase);
        Assert.Empty(read.Headers);
        Assert.Empty(read.VaryValues);
        Assert.Equal(new Version(1, 1), read.Version);
        Assert.Empty(read.Body);
    }

    [Fact]
    public void The_layout_is_the_documented_one()
    {
        // Written by hand from the format description, read by the engine.
        var metadata = Layout();

        var read = Read(metadata);

        Assert.Equal(200, read.StatusCode);
        Assert.Equal("OK", read.ReasonPhrase);
        Assert.Equal(new Version(1, 1), read.Version);
        Assert.Equal("\"v1\"", read.ETag);
        Assert.Equal([new KeyValuePair<string, string>("Accept", "text/plain")], read.VaryValues);
        Assert.Equal(metadata, EntrySerializer.Serialize(read));
    }

    [Fact]
    public void An_entry_an_earlier_release_wrote_reads_without_a_checksum()
    {
        var read = Read(Layout(version: EntrySerializer.LegacyFormatVersion));

        Assert.Null(read.Checksum);
        Assert.Equal("\"v1\"", read.ETag);
        Assert.Equal(EntrySerializer.FormatVersion, EntrySerializer.Serialize(read)[2]);
    }

    [Fact]
    public void Every_entry_carries_its_bodys_length_and_hash()
    {
        var read = Read(EntrySerializer.Serialize(RealEntry()));

        Assert.Equal(new BodyChecksum(Body.Length, EntryFormats.Crc32C(Body), BodyChecksumAlgorithm.Crc32C), read.Checksum);
    }

    [Theory]
    [InlineData("the bodY", "other bytes")]
    [InlineData("the bo", "cut short")]
    [InlineData("", "empty")]
    [InlineData("the body and more", "longer")]
    public void A_body_that_does_not_match_its_checksum_is_corrupt_and_says_so(string damaged, string because)
    {
        var metadata = EntrySerializer.Serialize(RealEntry());

        var thrown = Assert.Throws<InvalidDataException>(() => EntrySerializer.Deserialize(Info, metadata, Encoding.UTF8.GetBytes(damaged)));
        Assert.True(thrown.Message.Contains("checksum", StringComparison.Ordinal), because);
    }

    [Fact]
    public void A_streamed_body_is_checked_as_it_is_read_not_here()
    {
        var streamed = new CacheRecordInfo { Key = "k", PrimaryKey = "k", Method = "GET", Uri = "https://example.test/big", BodyStreamed = true };
        var metadata = EntrySerializer.Serialize(RealEntry(), new BodyChecksum(5_000_000, 42, BodyChecksumAlgorithm.Crc32C));

        var read = EntrySerializer.Deserialize(streamed, metadata, []);

        Assert.Equal(new BodyChecksum(5_000_000, 42, BodyChecksumAlgorithm.Crc32C), read.Checksum);
    }

    [Fact]
    public void It_starts_with_the_magic_number_and_version()
    {
        var metadata = EntrySerializer.Serialize(RealEntry());

        Assert.Equal((byte)'H', metadata[0]);
        Assert.Equal((byte)'C', metadata[1]);
        Assert.Equal(EntrySerializer.FormatVersion, metadata[2]);
    }

    [Fact]
    public void Empty_is_corrupt() => AssertCorrupt([], "empty");

    [Theory]
    [InlineData("XC")]
    [InlineData("HX")]
    [InlineData("hc")]
    [InlineData("{\"")]
    public void A_wrong_magic_number_is_corrupt(string magic)
    {
        var metadata = EntrySerializer.Serialize(RealEntry());
        metadata[0] = (byte)magic[0];
        metadata[1] = (byte)magic[1];

        AssertCorrupt(metadata, magic);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(255)]
    public void An_unknown_version_is_corrupt_and_says_so(byte version)
    {
        var metadata = EntrySerializer.Serialize(RealEntry());
        metadata[2] = version;

        var thrown = Assert.Throws<InvalidDataException>(() => Read(metadata));
        Assert.Contains(version.ToString(System.Globalization.CultureInfo.InvariantCulture), thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_at_every_length_is_corrupt()
    {
        var metadata = EntrySerializer.Serialize(RealEntry());

        for (var length = 0; length < metadata.Length; length++)
        {
            AssertCorrupt(metadata[..length], $"truncated to {length} of {metadata.Length} bytes");
        }
    }

    [Theory]
    [InlineData(new byte[] { 0 })]
    [InlineData(new byte[] { 0xFF, 0xFF })]
    [InlineData(new byte[] { (byte)'H', (byte)'C', 1 })]
    public void Trailing_bytes_are_corrupt(byte[] extra)
    {
        AssertCorrupt([.. EntrySerializer.Serialize(RealEntry()), .. extra], "trailing bytes");
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(1_000_000)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void An_absurd_header_count_is_corrupt(int count)
    {
        AssertCorrupt(Layout(headerCount: count), $"header count {count}");
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(-7)]
    public void An_absurd_value_count_is_corrupt(int count)
    {
        AssertCorrupt(Layout(valueCount: count), $"value count {count}");
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(-1)]
    [InlineData(2)]
    public void An_absurd_vary_count_is_corrupt(int count)
    {
        AssertCorrupt(Layout(varyCount: count), $"vary count {count}");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(99)]
    [InlineData(1000)]
    [InlineData(-200)]
    public void An_impossible_status_is_corrupt(int status)
    {
        AssertCorrupt(Layout(status: status), $"status {status}");
    }

    [Fact]
    public void An_impossible_time_is_corrupt()
    {
        AssertCorrupt(Layout(responseTicks: -1), "negative ticks");
        AssertCorrupt(Layout(responseTicks: long.MaxValue), "ticks past year 9999");
    }

    [Fact]
    public void A_string_longer_than_the_entry_is_corrupt()
    {
        var metadata = Layout();
        // The reason phrase's length prefix sits right after status (4 bytes) and its presence flag.
        metadata[3 + 4 + 1] = 0x7F;

        AssertCorrupt(metadata, "string length past the end");
    }

    [Fact]
    public void A_malformed_string_length_is_corrupt()
    {
        // Five continuation bytes: a 7-bit encoded length that overflows.
        var prefix = Layout()[..8];
        AssertCorrupt([.. prefix, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], "overlong 7-bit length");
    }

    [Fact]
    public void Any_single_damaged_byte_gives_an_entry_or_InvalidDataException_and_nothing_else()
    {
        var metadata = EntrySerializer.Serialize(RealEntry());

        foreach (var damage in new byte[] { 0x00, 0xFF, 0x80, 0x7F, 0x01 })
        {
            for (var i = 0; i < metadata.Length; i++)
            {
                var damaged = (byte[])metadata.Clone();
                damaged[i] = damage;
                var thrown = Record.Exception(() => Read(damaged));
                Assert.True(thrown is null or InvalidDataException, $"byte {i} set to 0x{damage:X2}: {thrown?.GetType().Name}: {thrown?.Message}");
            }
        }
    }

    [Fact]
    public void Random_bytes_are_corrupt_or_readable_never_another_exception()
    {
        var random = new Random(20250115);
        for (var i = 0; i < 2000; i++)
        {
            var junk = new byte[random.Next(0, 96)];
            random.NextBytes(junk);
            if (i % 2 == 0 && junk.Length >= 3)
            {
                junk[0] = (byte)'H';
                junk[1] = (byte)'C';
                junk[2] = EntrySerializer.FormatVersion;
            }

            var thrown = Record.Exception(() => Read(junk));
            Assert.True(thrown is null or InvalidDataException, $"case {i}: {thrown?.GetType().Name}: {thrown?.Message}");
        }
    }

    /// <summary>An entry written by hand (version 4, or an earlier release's 3 or 1), with parts that can be made absurd.</summary>
    private static byte[] Layout(int status = 200, int headerCount = 1, int valueCount = 1, int varyCount = 1, long responseTicks = 638_712_000_000_000_000, byte version = 4)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write((byte)'H');
            writer.Write((byte)'C');
            writer.Write(version);
            writer.Write(status);
            writer.Write(true);
            writer.Write("OK");
            writer.Write((byte)1);
            writer.Write((byte)1);
            writer.Write(638_712_000_000_000_000L);
            writer.Write(responseTicks);
            writer.Write(0L);
            if (version >= 3)
            {
                // Stored as received (no encoding), original length, then the stored body's length and checksum:
                // version 3 its XxHash3, version 4 its algorithm (2, CRC-32C) and CRC-32C (as a uint64).
                writer.Write(string.Empty);
                writer.Write((long)Body.Length);
                writer.Write((long)Body.Length);
                if (version == 3)
                {
                    writer.Write(System.IO.Hashing.XxHash3.HashToUInt64(Body));
                }
                else
                {
                    writer.Write((byte)2);
                    writer.Write((ulong)EntryFormats.Crc32C(Body));
                }
            }

            writer.Write(headerCount);
            writer.Write("ETag");
            writer.Write(valueCount);
            writer.Write("\"v1\"");
            writer.Write(varyCount);
            writer.Write("Accept");
            writer.Write("text/plain");
        }

        return stream.ToArray();
    }
}
