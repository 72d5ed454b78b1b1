using System.Text;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Http;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Tests.Http;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// Entry format 4 checks bodies with CRC-32C; entries an earlier release wrote (format 3, XxHash3) are still served
/// and still checked with XxHash3, on every backend: not dropped, not counted as corrupt unless they are.
/// </summary>
public abstract partial class BodyIntegrityContractTests
{
    [Fact]
    public async Task A_new_entry_is_format_4_and_carries_the_CRC_32C_of_its_body()
    {
        await using var harness = CacheHarness.Over(CreateStore());
        var key = (await harness.GetAsync(Origin.Url(ServeBody(Size)))).Info.CacheKey!;
        await harness.Session.Handler.DrainWritesAsync();

        var record = (await harness.Store.GetAsync(key))!;

        Assert.Equal(4, record.Metadata[2]);
        Assert.Equal(
            new BodyChecksum(Size, EntryFormats.Crc32C(Expected(Size)), BodyChecksumAlgorithm.Crc32C),
            EntrySerializer.Deserialize(record, record.Metadata, record.Body).Checksum);
    }

    [Fact]
    public async Task An_entry_an_earlier_release_wrote_with_XxHash3_is_still_served_from_the_cache()
    {
        await using var harness = CacheHarness.Over(CreateStore());
        var path = ServeBody(Size);
        var url = Origin.Url(path);
        var key = (await harness.GetAsync(url)).Info.CacheKey!;
        await harness.Session.Handler.DrainWritesAsync();
        await EntryFormats.AsEarlierReleaseWroteAsync(harness.Store, key, Expected(Size));

        var second = await harness.GetAsync(url);

        Assert.True(second.Info.FromCache);
        Assert.Equal(Encoding.ASCII.GetString(Expected(Size)), second.Body);
        Assert.Equal(1, Origin.RequestCount(path));
        Assert.Equal(0, harness.Counters.CorruptEntries);
        Assert.Equal(3, (await harness.Store.GetAsync(key))!.Metadata[2]);
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task A_damaged_entry_an_earlier_release_wrote_is_never_served_it_is_removed_counted_and_fetched_again(string how)
    {
        await using var harness = CacheHarness.Over(CreateStore());
        var path = ServeBody(Size);
        var url = Origin.Url(path);
        var key = (await harness.GetAsync(url)).Info.CacheKey!;
        await harness.Session.Handler.DrainWritesAsync();
        await EntryFormats.AsEarlierReleaseWroteAsync(harness.Store, key, Expected(Size));
        await DamageBodyAsync(harness.Store, key, body => Damage(how, body));

        var second = await harness.GetAsync(url);

        Assert.False(second.Info.FromCache);
        Assert.Equal(Encoding.ASCII.GetString(Expected(Size)), second.Body);
        Assert.Equal(2, Origin.RequestCount(path));
        Assert.Equal(1, harness.Counters.CorruptEntries);
        Assert.Contains(second.Info.Diagnostics, d => d.EventId == CacheEventId.CorruptEntry && d.Message.Contains("checksum", StringComparison.Ordinal));

        // The origin's answer took its place, in the format written now.
        await harness.Session.Handler.DrainWritesAsync();
        Assert.Equal(4, (await harness.Store.GetAsync(key))!.Metadata[2]);
        Assert.True((await harness.GetAsync(url)).Info.FromCache);
        Assert.Equal(2, Origin.RequestCount(path));
    }
}
