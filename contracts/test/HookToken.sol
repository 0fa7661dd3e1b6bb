// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

interface ITokenReceiver {
    function onTokensReceived(address from, uint256 amount) external;
}

/// @notice TEST ONLY: an ERC-20 that calls the recipient back on every transfer (like ERC-777 hooks), so a malicious
/// recipient can try to re-enter the Market in the middle of a payout. Anyone may mint.
contract HookToken is ERC20 {
    mapping(address => bool) public hooked;

    constructor() ERC20("Hook", "HOOK") {}

    function setHooked(address account, bool on) external {
        hooked[account] = on;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (hooked[to] && from != address(0)) ITokenReceiver(to).onTokensReceived(from, value);
    }
}
