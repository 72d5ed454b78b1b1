using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// The default table views in a hosted runspace of the full PowerShell SDK (the formatter is PowerShell's, not
/// ours), rendered with <c>Out-String -Width 80</c> and <c>-Width 120</c>: no line is wider than the width, the URL keeps its
/// host and its end (the middle is what goes), the session shows its location and limits, and the per-host
/// table keeps its headers whole.
/// </summary>
public sealed class FormatViewWidthTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private const string LongTail = "/the-resource-at-the-very-end?page=7";
    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task EveryViewFitsAndKeepsWhatMatters()
    {
        var path = "/views/a-rather-long-first-segment/and-a-second-one-too" + LongTail;
        origin.Map(path[..path.IndexOf('?', StringComparison.Ordinal)], OriginBehaviors.Counter());
        using var temp = new TempDirectory();
        var store = Path.Combine(temp.Path, "a-folder-with-a-long-name", "and-another-long-folder-name", "cache-files");
        var host = $"127.0.0.1:{origin.BaseAddress.Port}";
        var script = $$"""
            $s = New-HttpCacheSession -Name views -Backend FileSystem -Path '{{store}}' -ExpireAfter 300 -MaxSize 100MB -MaxEntries 5000
            $u = '{{origin.Url(path).AbsoluteUri}}'
            $responses = @(Invoke-CachedWebRequest -Uri $u -Session $s; Invoke-CachedWebRequest -Uri $u -Session $s)
            foreach ($w in 80, 120) {
                "=== session $w"; $s | Out-String -Width $w
                "=== response $w"; $responses | Out-String -Width $w
                "=== entry $w"; Get-HttpCacheEntry -Session $s | Out-String -Width $w
                "=== stats $w"; Get-HttpCacheStats -Session $s | Out-String -Width $w
                "=== host $w"; Get-HttpCacheStats -Session $s -GroupBy Host | Out-String -Width $w
            }
            $s.Dispose()
            """;

        using var ps = PS.Open();
        var views = Sections(string.Join('\n', (await ps.Ok(script)).BaseOutput.Select(o => o.ToString())));

        foreach (var width in new[] { 80, 120 })
        {
            foreach (var view in new[] { "session", "response", "entry", "stats", "host" })
            {
                var lines = views[$"{view} {width}"];
                Assert.True(lines.Length >= 3, $"{view} at {width}: no table{Environment.NewLine}{string.Join(Environment.NewLine, lines)}");
                Assert.All(lines, line => Assert.True(line.Length <= width, $"{view} at {width}: a line of {line.Length} columns:{Environment.NewLine}{line}"));
            }

            foreach (var view in new[] { "response", "entry" })
            {
                var rows = views[$"{view} {width}"].Where(l => l.Contains(host, StringComparison.Ordinal)).ToArray();
                Assert.True(rows.Length >= 1, $"{view} at {width} does not show the host {host}");
                Assert.All(rows, row => Assert.EndsWith(LongTail[^20..], row.TrimEnd(), StringComparison.Ordinal));
                Assert.All(rows, row => Assert.Contains("\u2026", row, StringComparison.Ordinal)); // the middle went
            }

            var session = views[$"session {width}"];
            Assert.Contains(session, l => l.Contains("MaxSize", StringComparison.Ordinal) && l.Contains("MaxEntries", StringComparison.Ordinal) && l.Contains("Location", StringComparison.Ordinal));
            Assert.Contains(session, l => l.Contains("100 MB", StringComparison.Ordinal) && l.Contains("5000", StringComparison.Ordinal) && l.TrimEnd().EndsWith("cache-files", StringComparison.Ordinal));

            var hosts = views[$"host {width}"];
            Assert.Contains(hosts, l => new[] { "Host", "Entries", "Stored", "Hits", "Expired", "Oldest", "Newest" }.All(h => l.Contains(h, StringComparison.Ordinal)));
            Assert.Contains(hosts, l => l.StartsWith(host, StringComparison.Ordinal));

            var stats = views[$"stats {width}"];
            Assert.Contains(stats, l => new[] { "Session", "Hits", "Misses", "HitRate", "Health", "Growth" }.All(h => l.Contains(h, StringComparison.Ordinal)));
        }
    }

    /// <summary>The output split at the "=== name width" markers, blank lines dropped.</summary>
    private static Dictionary<string, string[]> Sections(string output)
    {
        var sections = new Dictionary<string, string[]>();
        string? name = null;
        var lines = new List<string>();
        foreach (var line in output.Split('\n').Select(l => l.TrimEnd('\r')).Append("=== end"))
        {
            if (line.StartsWith("=== ", StringComparison.Ordinal))
            {
                if (name is not null)
                {
                    sections[name] = [.. lines];
                }

                name = line[4..];
                lines.Clear();
            }
            else if (name is not null && line.Trim().Length > 0)
            {
                lines.Add(line);
            }
        }

        return sections;
    }
}
