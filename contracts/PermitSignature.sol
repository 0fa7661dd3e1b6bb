// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @notice An EIP-2612 permit signed by the payer, so approval and payment happen in one transaction.
struct PermitSignature {
    uint256 value;
    uint256 deadline;
    uint8 v;
    bytes32 r;
    bytes32 s;
}

library PermitLib {
    /// @notice Applies the permit; a failure is ignored (someone may have front-run the same permit), and the
    /// following transferFrom then reverts with the token's allowance error if the allowance is really missing.
    function apply_(address token, address owner, address spender, PermitSignature calldata p) internal {
        try IERC20Permit(token).permit(owner, spender, p.value, p.deadline, p.v, p.r, p.s) {} catch {}
    }
}
