using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Memory;

namespace HttpCache.Engine.Tests.Storage;

public sealed class MemoryCacheStoreTests : CacheStoreContractTests
{
    protected override Task<ICacheStore> CreateStoreAsync() => Task.FromResult<ICacheStore>(new MemoryCacheStore());

    protected override Task<ICacheStore> CreateLimitedStoreAsync(StoreLimits limits) =>
        Task.FromResult<ICacheStore>(new MemoryCacheStore(limits));

    [Fact]
    public void Is_the_Memory_backend_in_memory()
    {
        Assert.Equal("Memory", Store.BackendName);
        Assert.Equal("memory", Store.Location);
    }

    [Fact]
    public async Task Two_instances_share_nothing()
    {
        await using var other = new MemoryCacheStore();
        await Store.SetAsync(Record("k1"));

        Assert.Null(await other.GetAsync("k1"));
    }

    [Fact]
    public async Task A_disposed_store_refuses_calls()
    {
        var store = new MemoryCacheStore();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetAsync("k1"));
    }
}
