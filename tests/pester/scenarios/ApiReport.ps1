<#
.SYNOPSIS
    An API report written for the built-in Invoke-RestMethod only: it knows nothing of HttpCache.

.DESCRIPTION
    The script that DropIn.ps1 moves onto the cache with Enable-HttpCache, Use-HttpCache and a thread job,
    unchanged. Its output must be the same whether the cache or the origin answers.

.PARAMETER BaseUri
    Answers GET <BaseUri>/users/<id> with application/json {"id":<id>,"name":"..."} (id 1 is "Ada").
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $BaseUri,

    [int[]] $UserId = @(1, 2, 3)
)

$ErrorActionPreference = 'Stop'
foreach ($id in $UserId) {
    $user = Invoke-RestMethod -Uri "$BaseUri/users/$id"
    "user $($user.id): $($user.name)"
}

$first = irm "$BaseUri/users/$($UserId[0])" -StatusCodeVariable status -ResponseHeadersVariable headers
"status $status, $(@($headers['Content-Type'])[0]), first user $($first.name)"
