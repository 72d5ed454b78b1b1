using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>New-HttpCacheSession -TargetedCacheControl (RFC 9213): which field a shared session obeys first.</summary>
public sealed class TargetedCacheControlParameterTests
{
    [Fact]
    public async Task A_shared_session_obeys_CDN_Cache_Control_unless_told_otherwise()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            (New-HttpCacheSession -Backend Memory -Shared).TargetedCacheControl
            (New-HttpCacheSession -Backend Memory -Shared -TargetedCacheControl Fastly-Cache-Control).TargetedCacheControl
            $null -eq (New-HttpCacheSession -Backend Memory -Shared -TargetedCacheControl '').TargetedCacheControl
            $null -eq (New-HttpCacheSession -Backend Memory).TargetedCacheControl
            """);

        Assert.Equal(["CDN-Cache-Control", "Fastly-Cache-Control", true, true], result.BaseOutput);
    }
}
