using System.Management.Automation;

namespace HttpCache.Commands;

/// <summary>
/// <para type="synopsis">Sends an HTTP request through the cache: Invoke-WebRequest's core, answered from the store when the cache allows.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "CachedWebRequest", DefaultParameterSetName = DefaultSet)]
[OutputType(typeof(CachedResponse))]
public sealed class InvokeCachedWebRequestCommand : CachedRequestCommandBase
{
    /// <inheritdoc />
    private protected override void WriteAnswer(CachedResponse response) => WriteObject(response);
}
