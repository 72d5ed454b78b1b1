using HttpCache.Engine.Storage.Redis;
using StackExchange.Redis;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>The contract and the Redis behaviour against a three-primary Cluster (HTTPCACHE_REDIS_CLUSTER).</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterCacheStoreTests(RedisClusterFixture redis) : RedisCacheStoreTestsBase(redis)
{
    [Fact]
    public void The_cluster_has_three_primaries()
    {
        Assert.Equal(3, Redis.Connection.GetServers().Count(s => !s.IsReplica && s.IsConnected));
        Assert.Equal(ServerType.Cluster, Redis.Connection.GetServers()[0].ServerType);
    }

    [Fact]
    public async Task An_entrys_parts_share_one_slot_and_primary_keys_spread_over_every_primary()
    {
        var keys = new RedisKeyLayout(Namespace);
        var primaries = new HashSet<string>();
        for (var i = 0; i < 30; i++)
        {
            var primaryKey = $"{i:x32}";
            var key = primaryKey + ".0123456789abcdef";
            await Store.SetAsync(Record(key, primaryKey: primaryKey));

            var slot = Redis.Connection.HashSlot(keys.Variants(primaryKey));
            Assert.Equal(slot, Redis.Connection.HashSlot(keys.Entry(primaryKey, key)));
            primaries.Add(EndPointCollection.ToString(await Database.IdentifyEndpointAsync(keys.Entry(primaryKey, key))!));
        }

        // The limits' bookkeeping is one slot of its own.
        var lru = Redis.Connection.HashSlot(keys.Lru);
        Assert.Equal(lru, Redis.Connection.HashSlot(keys.Sizes));
        Assert.Equal(lru, Redis.Connection.HashSlot(keys.Keep));
        Assert.Equal(lru, Redis.Connection.HashSlot(keys.Bytes));

        Assert.Equal(3, primaries.Count);
        Assert.Equal(30, (await Store.GetInventoryAsync()).Entries);
        Assert.Equal(30, await Store.RemoveAsync(Engine.Storage.CacheQuery.All));
        Assert.Empty(await Redis.KeysAsync(Namespace));
    }
}
