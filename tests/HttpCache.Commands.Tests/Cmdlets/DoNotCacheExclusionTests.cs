using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// The deny-list and allow-list examples of docs/expiration.md and docs/New-HttpCacheSession.md, as written,
/// against an origin that says <c>Cache-Control: max-age=600</c> on every answer: DoNotCache must keep its
/// URLs out of the store all the same.
/// </summary>
public sealed class DoNotCacheExclusionTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private string MaxAgePath(string name)
    {
        var path = origin.NewPath(name);
        origin.Map(path, OriginBehaviors.Counter(new Dictionary<string, string> { ["Cache-Control"] = "max-age=600" }));
        return path;
    }

    /// <summary>Asks each URL twice; outputs "path=stored/excluded" from the second answer and the store.</summary>
    private const string AskTwice = """
        foreach ($u in $urls) {
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            $second = Invoke-CachedWebRequest -Uri $u -Session $s
            $inStore = @(Get-HttpCacheEntry -Session $s -Uri $u -ErrorAction SilentlyContinue).Count
            "$($second.FromCache) $inStore $($second.StoreReason)"
        }
        """;

    [Fact]
    public async Task DenyListPatternKeepsItsUrlOutDespiteMaxAge()
    {
        var status = MaxAgePath("status");
        var items = MaxAgePath("items");
        using var ps = PS.Open(origin);

        var result = await ps.Ok(
            "$s = New-HttpCacheSession -Backend Memory -UrlExpireAfter ([ordered]@{ \"127.0.0.1:*$status\" = 'DoNotCache' })\n" + AskTwice,
            ("status", status), ("urls", new[] { origin.Url(status).AbsoluteUri, origin.Url(items).AbsoluteUri }));

        Assert.Equal(["False 0 not-storable-do-not-cache", "True 1 "], result.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(2, origin.RequestCount(status));
        Assert.Equal(1, origin.RequestCount(items));
    }

    [Theory]
    [InlineData("-UrlExpireAfter ([ordered]@{ \"127.0.0.1:*$allowed\" = 3600; '*' = 'DoNotCache' })")]
    [InlineData("-ExpireAfter DoNotCache -UrlExpireAfter ([ordered]@{ \"127.0.0.1:*$allowed\" = 3600 })")]
    public async Task AllowListInEitherFormStoresOnlyWhatItNames(string parameters)
    {
        var allowed = MaxAgePath("allowed");
        var other = MaxAgePath("other");
        using var ps = PS.Open(origin);

        var result = await ps.Ok(
            $"$s = New-HttpCacheSession -Backend Memory {parameters}\n" + AskTwice,
            ("allowed", allowed), ("urls", new[] { origin.Url(allowed).AbsoluteUri, origin.Url(other).AbsoluteUri }));

        Assert.Equal(["True 1 ", "False 0 not-storable-do-not-cache"], result.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(1, origin.RequestCount(allowed));
        Assert.Equal(2, origin.RequestCount(other));
    }

    [Fact]
    public async Task ExpireAfterScriptReturningDoNotCacheKeepsTheAnswerOut()
    {
        var path = MaxAgePath("script");
        using var ps = PS.Open(origin);

        var result = await ps.Ok(
            "$s = New-HttpCacheSession -Backend Memory -ExpireAfterScript { 'DoNotCache' }\n" + AskTwice,
            ("urls", new[] { origin.Url(path).AbsoluteUri }));

        Assert.Equal(["False 0 not-storable-do-not-cache"], result.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(2, origin.RequestCount(path));
    }
}
