using System.Text;
using HttpCache.Testing;

namespace HttpCache.Benchmarks;

/// <summary>What every benchmark class shares: the body, the loopback origin that serves it, temporary folders.</summary>
internal static class Fixtures
{
    /// <summary>The size of every body the benchmarks move.</summary>
    public const int BodySize = 1024;

    /// <summary>The path on the origin that answers with the body.</summary>
    public const string BodyPath = "/body";

    /// <summary>1 KiB of ASCII text (so its UTF-8 form, which the origin sends, is exactly <see cref="BodySize"/> bytes).</summary>
    public static readonly string BodyText = BuildBody();

    /// <summary><see cref="BodyText"/> as bytes, for the floors that read a stored blob.</summary>
    public static readonly byte[] Body = Encoding.ASCII.GetBytes(BodyText);

    /// <summary>
    /// The shared TestOrigin, answering <see cref="BodyPath"/> (any query) with 200, the 1 KiB body and
    /// <c>Cache-Control: max-age=3600</c>.
    /// </summary>
    public static async Task<TestOrigin> StartOriginAsync()
    {
        var origin = await TestOrigin.StartAsync().ConfigureAwait(false);
        origin.Respond(
            BodyPath,
            200,
            new Dictionary<string, string> { ["Cache-Control"] = "max-age=3600", ["Content-Type"] = "application/octet-stream" },
            BodyText);
        return origin;
    }

    /// <summary>A new empty folder under the system's temporary folder.</summary>
    public static string NewTempFolder(string name)
    {
        var path = Path.Combine(Path.GetTempPath(), "httpcache-bench", $"{name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Removes a folder <see cref="NewTempFolder"/> made; a file still held open is left behind.</summary>
    public static void DeleteTempFolder(string? path)
    {
        if (path is null)
        {
            return;
        }

        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: it lives under the temporary folder.
        }
        catch (UnauthorizedAccessException)
        {
            // Likewise.
        }
    }

    /// <summary>Fails the setup loudly when a benchmark would measure something other than it claims.</summary>
    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"Benchmark setup check failed: {what}");
        }
    }

    private static string BuildBody()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        var builder = new StringBuilder(BodySize);
        for (var i = 0; i < BodySize; i++)
        {
            builder.Append(alphabet[(i * 7 + i / 36) % alphabet.Length]);
        }

        return builder.ToString();
    }
}
