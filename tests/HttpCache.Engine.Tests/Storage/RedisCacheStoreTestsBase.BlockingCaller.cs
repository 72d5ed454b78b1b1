using System.Text;
using HttpCache.Engine.Storage;
using StackExchange.Redis;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// A caller that blocks on the engine's task from a thread of its own (PowerShell's pipeline thread) gets the
/// variants read on that thread: the task is complete when GetVariantsAsync returns, still one operation on the
/// connection, and a failure is still the store's own exception. xunit runs tests under a synchronization context,
/// so every other test here covers the awaited read.
/// </summary>
public abstract partial class RedisCacheStoreTestsBase
{
    [Fact]
    public async Task A_caller_on_a_thread_of_its_own_gets_the_variants_as_a_completed_task_in_one_operation()
    {
        var store = OpenOwnConnection();
        await store.SetAsync(Record("pk1", primaryKey: "pk1", body: "plain"));
        await store.SetAsync(Record("pk1.0123456789abcdef", primaryKey: "pk1", body: "varied"));
        Assert.Equal(2, (await store.GetVariantsAsync("pk1")).Count);   // the script is known to the server from here on
        var before = RedisCallerThreads.Operations(store.Connection);

        var (completed, records) = RedisCallerThreads.OnThreadOfItsOwn(() =>
        {
            var reading = store.GetVariantsAsync("pk1");
            return (reading.IsCompleted, reading.GetAwaiter().GetResult());
        });

        Assert.True(completed);
        Assert.Equal(1, RedisCallerThreads.Operations(store.Connection) - before);
        Assert.Equal(
            ["pk1.0123456789abcdef=varied", "pk1=plain"],
            records.Select(r => $"{r.Key}={Encoding.UTF8.GetString(r.Body)}").Order(StringComparer.Ordinal));
        Assert.All(records, r => Assert.Equal("pk1", r.PrimaryKey));
    }

    [Fact]
    public async Task A_caller_on_a_thread_of_its_own_gets_a_failing_read_as_the_stores_exception()
    {
        var store = OpenStore();
        // Not a set where the variant set belongs: the script fails on the server.
        await Database.StringSetAsync(Keys.Variants("pk-broken"), "not a set");
        var awaited = await Assert.ThrowsAsync<CacheStoreException>(() => store.GetVariantsAsync("pk-broken"));

        var onOwnThread = RedisCallerThreads.OnThreadOfItsOwn(() =>
        {
            var reading = store.GetVariantsAsync("pk-broken");
            return (reading.IsCompleted, Failure: Xunit.Record.Exception(() => reading.GetAwaiter().GetResult()));
        });

        Assert.True(onOwnThread.IsCompleted);
        var failure = Assert.IsType<CacheStoreException>(onOwnThread.Failure);
        Assert.Equal(awaited.Failure, failure.Failure);
        Assert.IsAssignableFrom<RedisException>(failure.InnerException);
    }
}
