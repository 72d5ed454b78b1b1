using HttpCache.Engine.Storage.Redis;
using StackExchange.Redis;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>The options of a connection the Redis store opens from a configuration string.</summary>
public sealed class RedisConnectionOptionsTests
{
    [Fact]
    public void A_connection_the_store_opens_does_its_socket_work_on_the_thread_pool()
    {
        var options = RedisCacheStore.ConnectionOptions("127.0.0.1:6379");

        Assert.Same(SocketManager.ThreadPool, options.SocketManager);
    }

    [Fact]
    public void The_configuration_strings_own_timeouts_still_win_over_the_stores_defaults()
    {
        var options = RedisCacheStore.ConnectionOptions("127.0.0.1:6379,syncTimeout=4321,connectTimeout=1234");

        Assert.Equal(4321, options.SyncTimeout);
        Assert.Equal(1234, options.ConnectTimeout);
        Assert.Equal((int)RedisCacheStore.DefaultCommandTimeout.TotalMilliseconds, options.AsyncTimeout);
    }
}
