using System.Runtime.ExceptionServices;
using StackExchange.Redis;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>What the Redis tests of the cmdlet's way of calling share: a caller on a thread of its own, and counting a connection's commands.</summary>
internal static class RedisCallerThreads
{
    /// <summary>Runs <paramref name="body"/> on a new thread: not the thread pool's, and with no synchronization context (threads do not inherit one).</summary>
    public static T OnThreadOfItsOwn<T>(Func<T> body)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = body();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        return result;
    }

    /// <summary>The commands the connection has sent, over all its servers.</summary>
    public static long Operations(IConnectionMultiplexer connection) =>
        connection.GetServers().Sum(server => server.GetCounters().Interactive.OperationCount);
}
