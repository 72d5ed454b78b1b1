using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>A failing -ExpireAfterScript or -StorePredicate is warned about once per session, with its error.</summary>
public sealed class ScriptBlockWarningTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private string[] Urls(int count) => Enumerable.Range(0, count).Select(_ =>
    {
        var path = fixture.Origin.NewPath("script");
        fixture.Origin.Map(path, OriginBehaviors.Counter());
        return fixture.Origin.Url(path).AbsoluteUri;
    }).ToArray();

    [Fact]
    public async Task AThrowingExpireAfterScriptWarnsOnceWithItsErrorAndRequestsStillSucceed()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -ExpireAfterScript { throw 'rates service unknown' }
            $urls | ForEach-Object { (Invoke-CachedWebRequest -Uri $_ -Session $s).StatusCode }
            $s.ScriptErrors
            """, ("urls", Urls(3)));

        Assert.Equal([200, 200, 200, 3L], result.BaseOutput);
        var warning = Assert.Single(result.Warnings);
        Assert.Contains("rates service unknown", warning, StringComparison.Ordinal);
        Assert.Contains("ExpireAfterScriptFailed", warning, StringComparison.Ordinal);
        Assert.Contains("once per session", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachSessionWarnsOnceAndAPredicateSaysTheAnswerWasNotStored()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $a = New-HttpCacheSession -Backend Memory -StorePredicate { 'yes' }
            $b = New-HttpCacheSession -Backend Memory -StorePredicate { 'yes' }
            $urls | ForEach-Object { $null = Invoke-CachedWebRequest -Uri $_ -Session $a; $null = Invoke-CachedWebRequest -Uri $_ -Session $b }
            """, ("urls", Urls(2)));

        Assert.Equal(2, result.Warnings.Count);
        Assert.All(result.Warnings, w => Assert.Contains("StorePredicateFailed", w, StringComparison.Ordinal));
        Assert.All(result.Warnings, w => Assert.Contains("not stored", w, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AWorkingScriptGivesNoWarning()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -ExpireAfterScript { 60 } -StorePredicate { $true }
            $urls | ForEach-Object { $null = Invoke-CachedWebRequest -Uri $_ -Session $s }
            """, ("urls", Urls(2)));

        Assert.Empty(result.Warnings);
    }
}
