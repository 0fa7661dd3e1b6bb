// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice TEST ONLY: an account contract that forwards arbitrary calls and, when armed, re-enters a target with a
/// stored call from inside a token callback (the attack ReentrancyGuard must stop). Reverts bubble up unchanged. As an
/// ERC-1271 account it accepts every signature (so it consents to any slot named for it).
contract ReentrantReceiver {
    address public target;
    bytes public reentry;
    uint256 public callbacks;

    function arm(address target_, bytes calldata reentry_) external {
        target = target_;
        reentry = reentry_;
    }

    function execute(address to, bytes calldata data) external returns (bytes memory result) {
        bool ok;
        (ok, result) = to.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }

    function isValidSignature(bytes32, bytes calldata) external pure returns (bytes4) {
        return 0x1626ba7e;
    }

    function onTokensReceived(address, uint256) external {
        callbacks++;
        if (target == address(0)) return;
        address to = target;
        target = address(0);
        (bool ok, bytes memory result) = to.call(reentry);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }
}
