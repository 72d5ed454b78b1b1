using System.Text;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// The <see cref="ICacheStore"/> contract: <see cref="ICacheStore.SetManyAsync"/> leaves a store as the same records
/// written one by one with <see cref="ICacheStore.SetAsync"/> do, however the backend batches them (one SQLite
/// transaction, pipelined Redis scripts).
/// </summary>
public abstract partial class CacheStoreContractTests
{
    [Fact]
    public async Task A_batch_leaves_the_store_as_the_same_writes_one_by_one_do()
    {
        CacheRecord[] before =
        [
            Record("moved", primaryKey: "P-old", createdAt: T0),
            Record("replaced", primaryKey: "P-shared", createdAt: T0, body: "before"),
            Record("kept", primaryKey: "P-shared", createdAt: T0),
        ];
        var batch = new List<CacheRecord>
        {
            Record("v1", primaryKey: "P-shared", createdAt: T0.AddSeconds(1), expiresAt: T0.AddMinutes(5), keepUntil: T0.AddDays(1)),
            Record("moved", primaryKey: "P-new", createdAt: T0.AddSeconds(2)),
            Record("replaced", primaryKey: "P-shared", createdAt: T0.AddSeconds(3), body: "after", statusCode: 203),
            Record("twice", createdAt: T0.AddSeconds(4), body: "first"),
        };
        for (var i = 0; i < 40; i++)
        {
            // Primary keys of one, two and three variants.
            batch.Add(Record($"n{i}", primaryKey: $"P{i / 3}", createdAt: T0.AddSeconds(10 + i), body: new string('x', i * 37),
                hitCount: i % 4, lastAccessedAt: i % 5 == 0 ? T0.AddSeconds(100 + i) : null));
        }

        batch.Add(Record("twice", createdAt: T0.AddSeconds(60), body: "second"));

        var oneByOne = await LimitedStoreAsync(StoreLimits.None);
        var batched = await LimitedStoreAsync(StoreLimits.None);
        foreach (var record in before)
        {
            await oneByOne.SetAsync(record);
            await batched.SetAsync(record);
        }

        foreach (var record in batch)
        {
            await oneByOne.SetAsync(record);
        }

        await batched.SetManyAsync(batch);

        var expected = await SnapshotAsync(oneByOne);
        Assert.Equal(expected, await SnapshotAsync(batched));
        // What one by one gives, so the comparison cannot pass on two equally wrong stores.
        Assert.Equal(5 + 40, (await batched.GetInventoryAsync()).Entries);
        Assert.Empty(await batched.GetVariantsAsync("P-old"));
        Assert.Equal(["kept", "replaced", "v1"], (await batched.GetVariantsAsync("P-shared")).Select(r => r.Key).Order(StringComparer.Ordinal));
        Assert.Equal("after", Text((await batched.GetAsync("replaced"))!.Body));
        Assert.Equal("second", Text((await batched.GetAsync("twice"))!.Body));
        Assert.Equal("P-new", (await batched.GetAsync("moved"))!.PrimaryKey);
    }

    [Fact]
    public async Task A_batch_keeps_the_bounds_and_counts_its_evictions_as_one_by_one_writes_do()
    {
        var one = SizeOf(Record("b1", body: new string('x', 100)));
        var limits = new StoreLimits { MaxEntries = 5, MaxBytes = one * 20 };
        CacheRecord[] before =
        [
            Record("o1", createdAt: T0, body: new string('x', 100)),
            Record("o2", createdAt: T0.AddSeconds(1), body: new string('x', 100)),
            Record("o3", createdAt: T0.AddSeconds(2), body: new string('x', 100)),
            Record("big", createdAt: T0.AddSeconds(3), body: new string('x', 100)),
        ];
        var batch = new List<CacheRecord>
        {
            // Over MaxBytes on its own: not stored, and the older entry of its key goes (not counted as an eviction).
            Record("big", createdAt: T0.AddSeconds(9), body: new string('x', (int)(one * 21))),
        };
        for (var i = 1; i <= 4; i++)
        {
            batch.Add(Record($"b{i}", createdAt: T0.AddSeconds(10 + i), body: new string('x', 100)));
        }

        var oneByOne = await LimitedStoreAsync(limits);
        var batched = await LimitedStoreAsync(limits);
        foreach (var store in new[] { oneByOne, batched })
        {
            foreach (var record in before)
            {
                await store.SetAsync(record);
            }

            // The oldest entry, but the one used last: it must survive.
            await store.RecordAccessAsync([new EntryAccess("o1", 1, T0.AddSeconds(100))]);
        }

        foreach (var record in batch)
        {
            await oneByOne.SetAsync(record);
        }

        await batched.SetManyAsync(batch);

        Assert.Equal(await SnapshotAsync(oneByOne), await SnapshotAsync(batched));
        Assert.Equal(["b1", "b2", "b3", "b4", "o1"], (await ListKeysAsync(batched, CacheQuery.All)).Order(StringComparer.Ordinal));
        Assert.Equal(2, await EvictionsAsync(batched));
        Assert.Equal(one * 5, (await batched.GetInventoryAsync()).Bytes);
    }

    [Fact]
    public async Task An_empty_batch_writes_nothing()
    {
        await Store.SetManyAsync([]);

        Assert.Equal(0, (await Store.GetInventoryAsync()).Entries);
    }

    // Everything a caller can read back: each entry's fields and blobs, each primary key's variants, the totals and the
    // evictions counted.
    private static async Task<string> SnapshotAsync(ICacheStore store)
    {
        var text = new StringBuilder();
        var infos = (await ToListAsync(store.ListAsync(CacheQuery.All))).OrderBy(i => i.Key, StringComparer.Ordinal).ToList();
        foreach (var info in infos)
        {
            var record = await store.GetAsync(info.Key);
            text.Append($"{info.Key} {info.PrimaryKey} {info.Method} {info.Uri} {info.StatusCode} {info.CreatedAt.UtcTicks} ")
                .Append($"{info.ExpiresAt?.UtcTicks} {info.KeepUntil?.UtcTicks} {info.Size} {info.HitCount} {info.LastAccessedAt?.UtcTicks} ")
                .Append($"{Convert.ToHexString(record!.Metadata)} {Convert.ToHexString(record.Body)}\n");
        }

        foreach (var primaryKey in infos.Select(i => i.PrimaryKey).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var variants = (await store.GetVariantsAsync(primaryKey)).Select(r => r.Key).Order(StringComparer.Ordinal);
            text.Append($"{primaryKey}: {string.Join(',', variants)}\n");
        }

        var inventory = await store.GetInventoryAsync();
        text.Append($"{inventory.Entries} entries, {inventory.Bytes} bytes, {await EvictionsAsync(store)} evicted");
        return text.ToString();
    }
}
