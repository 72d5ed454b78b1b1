using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Get-HttpCacheEntry -Uri over SQLite, where the exact URI or the literal text before the first wildcard is
/// looked up in the store's URI index: the answers must be those of the wildcard itself, case and escapes included.
/// </summary>
public sealed class UriFilterIndexTests(OriginFixture fixture) : EntryTestBase(fixture)
{
    [Fact]
    public async Task An_exact_uri_in_another_case_finds_its_entry_in_sqlite()
    {
        var urls = Urls(3, "Exact");
        using var ps = await WithStoredInSqlite(urls);

        var found = await ps.Ok("Get-HttpCacheEntry -Session $q -Uri $u | ForEach-Object { $_.Uri }", ("u", urls[1].ToUpperInvariant()));

        Assert.Equal([urls[1]], found.BaseOutput.Select(o => o.ToString()));
    }

    [Fact]
    public async Task A_prefix_wildcard_finds_what_it_matches_and_not_a_longer_neighbour()
    {
        var alpha = Urls(2, "Alpha");
        var alphabet = Urls(1, "Alphabet");
        using var ps = await WithStoredInSqlite([.. alpha, .. alphabet]);
        var prefix = alpha[0][..alpha[0].LastIndexOf('/')] + "/alpha-*";

        var found = await ps.Ok("Get-HttpCacheEntry -Session $q -Uri $p | ForEach-Object { $_.Uri }", ("p", prefix));

        Assert.Equal(alpha.Order(), found.BaseOutput.Select(o => o.ToString()).Order());
    }

    [Fact]
    public async Task Escaped_characters_before_the_first_wildcard_are_looked_up_as_the_pattern_means_them()
    {
        var urls = Urls(1, "Escaped");
        using var ps = await WithStoredInSqlite(urls);
        var folder = urls[0][..urls[0].LastIndexOf('/')];

        // A backtick before a plain character is that character; before '?' it makes a literal question mark,
        // which no stored URL has.
        var plain = await ps.Ok("@(Get-HttpCacheEntry -Session $q -Uri $p).Count", ("p", folder + "/escaped`-*"));
        var question = await ps.Ok("@(Get-HttpCacheEntry -Session $q -Uri $p).Count", ("p", folder + "/escaped`?*"));
        var range = await ps.Ok("@(Get-HttpCacheEntry -Session $q -Uri $p).Count", ("p", urls[0][..^1] + "[0-9]*"));

        Assert.Equal(1, plain.Single<int>());
        Assert.Equal(0, question.Single<int>());
        Assert.Equal(1, range.Single<int>());
    }

    [Fact]
    public async Task Remove_by_prefix_in_sqlite_removes_only_what_matches()
    {
        var gone = Urls(2, "Gone");
        var kept = Urls(1, "Kept");
        using var ps = await WithStoredInSqlite([.. gone, .. kept]);
        var prefix = gone[0][..gone[0].LastIndexOf('/')] + "/GONE-*";

        await ps.Ok("Remove-HttpCacheEntry -Session $q -Uri $p -Confirm:$false", ("p", prefix));

        Assert.Equal(kept, (await ps.Ok("Get-HttpCacheEntry -Session $q | ForEach-Object { $_.Uri }")).BaseOutput.Select(o => o.ToString()));
    }

    /// <summary>A runspace with <c>$q</c>, a SQLite session in a fresh folder that fetched every URL once.</summary>
    private static async Task<PowerShellSession> WithStoredInSqlite(params string[] urls)
    {
        var ps = PS.Open();
        var path = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", Guid.NewGuid().ToString("N"), "cache.sqlite");
        await ps.Ok("$q = New-HttpCacheSession -Backend Sqlite -Path $path; $urls | Invoke-CachedWebRequest -Session $q | ForEach-Object { $null = $_ }", ("path", path), ("urls", urls));
        return ps;
    }
}
