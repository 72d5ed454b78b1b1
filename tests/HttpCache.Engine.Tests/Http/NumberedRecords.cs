using System.Text;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Http;

/// <summary>The small, distinct records the background writer's tests queue.</summary>
internal static class NumberedRecords
{
    /// <summary>Record <paramref name="i"/>: its own key and URL, a fixed metadata blob, "body i" unless a body is given.</summary>
    public static CacheRecord Record(int i, byte[]? body = null) => new()
    {
        Key = $"key-{i}",
        PrimaryKey = $"key-{i}",
        Method = "GET",
        Uri = $"https://example.test/{i}",
        StatusCode = 200,
        CreatedAt = DateTimeOffset.UnixEpoch,
        Metadata = Encoding.UTF8.GetBytes("meta"),
        Body = body ?? Encoding.UTF8.GetBytes($"body {i}"),
    };
}
