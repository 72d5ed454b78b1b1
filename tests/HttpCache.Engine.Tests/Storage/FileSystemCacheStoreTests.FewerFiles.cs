using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// A write creates as few files as it can (creating files is most of what a FileSystem write costs): an entry whose
/// key is its primary key (a response without Vary) has no variant marker, and a batch takes the folder's lock once
/// for many entries; an entry of a batch that fails leaves the others written.
/// </summary>
public sealed partial class FileSystemCacheStoreTests
{
    [Fact]
    public async Task An_entry_whose_key_is_its_primary_key_has_no_variant_marker_and_is_still_its_variant()
    {
        await Store.SetAsync(Entry(EnginePrimaryKey, EnginePrimaryKey, "plain"));

        Assert.Equal(
            [Path.Combine("01", EnginePrimaryKey + ".body"), Path.Combine("01", EnginePrimaryKey + ".meta")],
            FilesUnder(CacheFolder).Where(f => !f.StartsWith("store", StringComparison.Ordinal) && !f.EndsWith(".lock", StringComparison.Ordinal)));
        Assert.False(Directory.Exists(Path.Combine(CacheFolder, "variants")));
        Assert.Equal(EnginePrimaryKey, Assert.Single(await Store.GetVariantsAsync(EnginePrimaryKey)).Key);

        // With a varying variant beside it, both are its variants; removing by primary key takes both.
        await Store.SetAsync(Entry(EngineVariantKey, EnginePrimaryKey, "varied"));
        Assert.Equal([EnginePrimaryKey, EngineVariantKey], (await Store.GetVariantsAsync(EnginePrimaryKey)).Select(r => r.Key).Order(StringComparer.Ordinal));
        Assert.Equal(2, await Store.RemoveAsync(new CacheQuery { PrimaryKey = EnginePrimaryKey }));
        Assert.Empty(await Store.GetVariantsAsync(EnginePrimaryKey));
    }

    [Fact]
    public async Task A_marker_an_older_store_wrote_for_an_entry_named_after_its_primary_key_lists_it_once()
    {
        await Store.SetAsync(Entry(EnginePrimaryKey, EnginePrimaryKey, "plain"));
        var folder = Path.Combine(CacheFolder, "variants", "01", EnginePrimaryKey);
        Directory.CreateDirectory(folder);
        await File.WriteAllBytesAsync(Path.Combine(folder, EnginePrimaryKey), []);

        Assert.Single(await Store.GetVariantsAsync(EnginePrimaryKey));
        Assert.Equal(1, await Store.RemoveAsync(new CacheQuery { PrimaryKey = EnginePrimaryKey }));
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public async Task An_entry_named_after_another_primary_key_is_not_that_keys_variant()
    {
        // Key K stored first as its own primary key, then as a variant of P: K's lookup no longer finds it.
        const string other = "fedcba9876543210fedcba9876543210";
        await Store.SetAsync(Entry(other, other, "first"));
        await Store.SetAsync(Entry(other, EnginePrimaryKey, "moved"));

        Assert.Empty(await Store.GetVariantsAsync(other));
        Assert.Equal(other, Assert.Single(await Store.GetVariantsAsync(EnginePrimaryKey)).Key);
    }

    [Fact]
    public async Task An_entry_of_a_batch_that_cannot_be_written_leaves_the_others_written_and_the_batch_says_so()
    {
        // A file where the shard folder of keys starting "ee" belongs: those entries cannot be written.
        await File.WriteAllBytesAsync(Path.Combine(CacheFolder, "ee"), []);
        var keys = Enumerable.Range(0, 40).Select(i => $"{i % 16:x}{i % 16:x}{i:x30}").ToList();
        var batch = keys.Select(key => Entry(key, key, "body")).ToList();
        var failing = keys.Count(k => k.StartsWith("ee", StringComparison.Ordinal));
        Assert.True(failing >= 2);

        var error = await Assert.ThrowsAsync<CacheStoreException>(() => Store.SetManyAsync(batch));

        Assert.Contains($"{failing} of 40 writes of a batch failed", error.Message, StringComparison.Ordinal);
        foreach (var key in keys.Where(k => !k.StartsWith("ee", StringComparison.Ordinal)))
        {
            Assert.Equal(key, Assert.Single(await Store.GetVariantsAsync(key)).Key);
        }

        Assert.Equal(40 - failing, (await Store.GetInventoryAsync()).Entries);
    }

    private static CacheRecord Entry(string key, string primaryKey, string body) => new()
    {
        Key = key,
        PrimaryKey = primaryKey,
        Method = "GET",
        Uri = "https://example.test/" + key,
        StatusCode = 200,
        CreatedAt = T0,
        Metadata = [1, 2, 3],
        Body = System.Text.Encoding.UTF8.GetBytes(body),
    };
}
